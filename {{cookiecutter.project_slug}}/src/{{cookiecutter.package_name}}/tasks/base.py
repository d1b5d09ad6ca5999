"""Base classes for tasks: `TrackedTask` logs every attempt, `DLQTask` also hands every terminal
failure to the dead-letter path. Metrics count every task whatever its base (`metrics/signals.py`).

Use them as `@app.task(bind=True, base=DLQTask, **TRANSIENT.task_options())`.
"""

import logging
import socket
from typing import Any

from billiard.einfo import ExceptionInfo
from celery import Task
from celery.exceptions import TimeLimitExceeded

from ..deadletter.handoff import hand_off
from ..deadletter.record import DeadLetter, Reason, failure_record
from ..deadletter.replay import REPLAYS_HEADER
from ..logs import exception_type
from ..redaction import redact_arguments
from ..retry import RetryPolicy
from ..settings import get_settings
from ..topology import queue_name

logger = logging.getLogger(__name__)


class TrackedTask(Task):  # type: ignore[type-arg]
    """Logs each attempt.

    `on_retry` runs once per failed attempt that will be retried; `on_failure` runs once, after
    the final attempt. Log records carry `task_id`, `task`, `retries`, `queue`,
    `exception_type` and `exception_message` as attributes (the final failure its `traceback`
    too), and the task's arguments only after redaction of the keys in `LOG_REDACT_KEYS`.
    """

    # Set per task by the decorator; declared here with Celery's defaults for the type checker.
    retry_policy: RetryPolicy | None = None
    autoretry_for: tuple[type[BaseException], ...] = ()
    dont_autoretry_for: tuple[type[BaseException], ...] = ()
    queue: str | None = None

    def retry(
        self,
        args: Any = None,
        kwargs: Any = None,
        exc: Exception | None = None,
        throw: bool = True,
        eta: Any = None,
        countdown: float | None = None,
        max_retries: int | None = None,
        **options: Any,
    ) -> Any:
        """Celery's retry, except that a policy may replace the backoff with the delay the
        server asked for (`Retry-After`), within its cap."""
        server_delay = self.retry_policy.server_directed_delay(exc) if self.retry_policy else None
        if server_delay is not None:
            eta, countdown = None, server_delay
        return super().retry(args, kwargs, exc, throw, eta, countdown, max_retries, **options)

    def on_success(self, retval: Any, task_id: str, args: Any, kwargs: Any) -> None:
        context = self.log_context(task_id, args, kwargs)
        logger.info("task %s[%s] succeeded", self.name, task_id, extra=context)

    def on_retry(
        self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo
    ) -> None:
        context = self.log_context(task_id, args, kwargs, exc)
        logger.warning("task %s[%s] will retry: %r", self.name, task_id, exc, extra=context)

    def on_failure(
        self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo
    ) -> None:
        context = {**self.log_context(task_id, args, kwargs, exc), "traceback": einfo.traceback}
        logger.error("task %s[%s] failed: %r", self.name, task_id, exc, extra=context)

    def log_context(
        self, task_id: str, args: Any, kwargs: Any, exc: BaseException | None = None
    ) -> dict[str, Any]:
        """The structured fields every log record of this task carries (JSON lines show them)."""
        redacted = redact_arguments(args, kwargs, get_settings().log_redact_keys)
        context: dict[str, Any] = {
            "task_id": task_id,
            "task": self.name,
            "retries": self.request.retries,
            "queue": self.queue_name(),
            "task_args": redacted.args,
            "task_kwargs": redacted.kwargs,
        }
        if exc is not None:
            context["exception_type"] = exception_type(exc)
            context["exception_message"] = str(exc)
        return context

    def queue_name(self) -> str:
        return queue_name(self.request.delivery_info, self.queue)


class DLQTask(TrackedTask):
    """A `TrackedTask` whose terminal failure always becomes a dead-letter record.

    The reason is `exhausted` when a retryable error outlived `max_retries`, `non_retryable`
    for an error its policy never retries, and `time_limit` when the hard time limit killed it
    (Celery 5.7 calls `on_failure` for that, in the worker's main process).
    """

    def on_failure(
        self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo
    ) -> None:
        super().on_failure(exc, task_id, args, kwargs, einfo)
        hand_off(self.dead_letter(exc, task_id, args, kwargs, str(einfo)))

    def failure_reason(self, exc: BaseException) -> Reason:
        if isinstance(exc, TimeLimitExceeded):
            return "time_limit"
        retryable = isinstance(exc, self.autoretry_for)
        excluded = isinstance(exc, self.dont_autoretry_for)
        return "exhausted" if retryable and not excluded else "non_retryable"

    def dead_letter(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, traceback: str
    ) -> DeadLetter:
        return failure_record(
            task_id=task_id,
            task=self.name,
            args=args,
            kwargs=kwargs,
            reason=self.failure_reason(exc),
            error=exc,
            traceback=traceback,
            retries=self.request.retries or 0,
            queue=self.queue_name(),
            hostname=self.request.hostname or socket.gethostname(),
            replays=int((self.request.headers or {}).get(REPLAYS_HEADER) or 0),
        )
