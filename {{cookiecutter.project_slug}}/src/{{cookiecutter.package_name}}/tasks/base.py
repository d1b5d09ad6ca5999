"""Base classes for tasks: `TrackedTask` measures and logs every attempt, `DLQTask` also hands
every terminal failure to the dead-letter path.

Use them as `@app.task(bind=True, base=DLQTask, **TRANSIENT.task_options())`.
"""

import logging
import socket
import time
from typing import Any

from billiard.einfo import ExceptionInfo
from celery import Task
from celery.exceptions import TimeLimitExceeded

from ..deadletter.handoff import hand_off
from ..deadletter.record import DeadLetter, Reason, failure_record
from ..metrics import TASK_DURATION, TASKS_FAILED, TASKS_RETRIED, TASKS_SUCCEEDED
from ..redaction import redact_arguments
from ..retry import RetryPolicy
from ..settings import get_settings

logger = logging.getLogger(__name__)


class TrackedTask(Task):  # type: ignore[type-arg]
    """Counts, times and logs each attempt.

    `on_retry` runs once per failed attempt that will be retried; `on_failure` runs once, after
    the final attempt, so failures are never over-counted. Log records carry `task_id`, `task`,
    `retries`, `queue` and `exception` as attributes, and the task's arguments only after
    redaction of the keys in `LOG_REDACT_KEYS`.
    """

    # Set per task by the decorator; declared here with Celery's defaults for the type checker.
    retry_policy: RetryPolicy | None = None
    autoretry_for: tuple[type[BaseException], ...] = ()
    dont_autoretry_for: tuple[type[BaseException], ...] = ()
    queue: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().__call__(*args, **kwargs)
        finally:
            TASK_DURATION.labels(task=self.name).observe(time.perf_counter() - started)

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
        TASKS_SUCCEEDED.labels(task=self.name).inc()
        logger.info("task succeeded", extra=self.log_context(task_id, args, kwargs))

    def on_retry(
        self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo
    ) -> None:
        TASKS_RETRIED.labels(task=self.name).inc()
        logger.warning("task will retry", extra=self.log_context(task_id, args, kwargs, exc))

    def on_failure(
        self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo
    ) -> None:
        TASKS_FAILED.labels(task=self.name).inc()
        logger.error("task failed", extra=self.log_context(task_id, args, kwargs, exc))

    def log_context(
        self, task_id: str, args: Any, kwargs: Any, exc: BaseException | None = None
    ) -> dict[str, Any]:
        """The structured fields every log record of this task carries."""
        redacted_args, redacted_kwargs = redact_arguments(
            args, kwargs, get_settings().log_redact_keys
        )
        return {
            "task_id": task_id,
            "task": self.name,
            "retries": self.request.retries,
            "queue": self.queue_name(),
            "exception": f"{type(exc).__name__}: {exc}" if exc is not None else None,
            "task_args": redacted_args,
            "task_kwargs": redacted_kwargs,
        }

    def queue_name(self) -> str:
        delivery_info = self.request.delivery_info or {}
        return str(delivery_info.get("routing_key") or self.queue or "")


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
        )
