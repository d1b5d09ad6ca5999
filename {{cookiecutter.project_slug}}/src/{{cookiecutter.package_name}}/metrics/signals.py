"""Count every task from Celery's signals, so a task counts whatever its base class.

Where each counter is counted (each process writes its own values; see `multiprocess.py`):
- worker main process: received, revoked, rejected for unknown or invalid messages, replays,
  failures the main process detects (a lost pool process, the hard time limit);
- pool process: started, succeeded, retried, failed, runtime and queue wait.

A pool process lost mid-task (SIGKILL, out of memory) counts as a failure with
`exception="WorkerLostError"`. Celery sends `task_failure` for that only when it does not hand
the message back; with `task_reject_on_worker_lost` it hands it back silently, so each received
request's failure callback is watched too, and counts the loss when no `task_failure` did.

Queue wait needs the publish time: every publish stamps the `x-published-at` header (a retry
or a replay is a new publish, so it waits from its own publish).
"""

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from billiard.einfo import ExceptionInfo
from billiard.exceptions import WorkerLostError
from celery import Task, signals
from celery.exceptions import Reject
from celery.utils.dispatch import Signal
from celery.worker.request import Request
from kombu.message import Message

from .. import topology
from ..deadletter.replay import REPLAY_HEADER
from ..task_eta import eta_timestamp
from . import definitions as m

PUBLISHED_AT_HEADER = "x-published-at"
UNKNOWN_TASK = "unknown"
AnyTask = Task[Any, Any]


def queue_name(delivery_info: Mapping[str, object] | None, task: Any = None) -> str:
    return topology.queue_name(delivery_info, getattr(task, "queue", None))


def task_labels(task: AnyTask) -> tuple[str, str]:
    return task.name, queue_name(task.request.delivery_info, task)


def exception_name(exception: BaseException) -> str:
    return type(exception).__name__


class AttemptClock:
    """When each running attempt in this process started (perf_counter), by task id."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}

    def start(self, task_id: str) -> None:
        self.started[task_id] = time.perf_counter()

    def stop(self, task_id: str) -> float | None:
        started = self.started.pop(task_id, None)
        return None if started is None else time.perf_counter() - started


_clock = AttemptClock()
# The request whose failure callback is running in this thread, while it runs (main process).
_failing = threading.local()


def stamp_publish_time(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """`before_task_publish`: record when the message was published."""
    if headers is not None:
        headers[PUBLISHED_AT_HEADER] = time.time()


def queue_wait(task: AnyTask, started_at: float) -> float | None:
    """Seconds between the message's publish (or its eta, if later) and `started_at`."""
    published_at = task.request.get(PUBLISHED_AT_HEADER)
    if not isinstance(published_at, int | float):
        return None
    ready_at = float(published_at)
    due_at = eta_timestamp(task.request.eta)
    if due_at is not None:
        ready_at = max(ready_at, due_at)
    return max(0.0, started_at - ready_at)


def on_received(request: Request, **_: Any) -> None:
    """`task_received` (main process)."""
    name, queue = request.name, queue_name(request.delivery_info)
    m.TASKS_RECEIVED.labels(name, queue).inc()
    if request.request_dict.get(REPLAY_HEADER):
        m.REPLAYS.labels(name).inc()
    watch_worker_loss(request, name, queue)


def watch_worker_loss(request: Request, name: str, queue: str) -> None:
    """Count a lost pool process for `request` when Celery's failure callback sends no
    `task_failure` for it (it hands the message back instead)."""
    on_failure: Callable[..., Any] = request.on_failure

    def on_failure_counting_loss(exc_info: ExceptionInfo, *args: Any, **kwargs: Any) -> Any:
        _failing.task_id, _failing.counted = request.id, False
        try:
            return on_failure(exc_info, *args, **kwargs)
        finally:
            if isinstance(raised(exc_info), WorkerLostError) and not _failing.counted:
                m.TASKS_FAILED.labels(name, queue, WorkerLostError.__name__).inc()
            _failing.task_id = None

    request.on_failure = on_failure_counting_loss  # type: ignore[method-assign]


def raised(exc_info: ExceptionInfo) -> BaseException | None:
    """The exception in `exc_info`; billiard carries one raised in another process, with its
    traceback, in an `ExceptionWithTraceback` whose `exc` is the exception."""
    carried = getattr(exc_info.exception, "exc", None)
    return carried if isinstance(carried, BaseException) else exc_info.exception


def on_prerun(sender: AnyTask, task_id: str, **_: Any) -> None:
    """`task_prerun` (pool process): an attempt starts."""
    labels = task_labels(sender)
    m.TASKS_STARTED.labels(*labels).inc()
    wait = queue_wait(sender, time.time())
    if wait is not None:
        m.TASK_QUEUE_WAIT.labels(*labels).observe(wait)
    _clock.start(task_id)


def on_postrun(sender: AnyTask, task_id: str, **_: Any) -> None:
    """`task_postrun` (pool process): an attempt ended, whatever its outcome."""
    runtime = _clock.stop(task_id)
    if runtime is not None:
        m.TASK_RUNTIME.labels(*task_labels(sender)).observe(runtime)


def on_success(sender: AnyTask, **_: Any) -> None:
    m.TASKS_SUCCEEDED.labels(*task_labels(sender)).inc()


def on_retry(sender: AnyTask, request: Any, **_: Any) -> None:
    m.TASKS_RETRIED.labels(sender.name, queue_name(request.delivery_info, sender)).inc()


def on_failure(sender: AnyTask, task_id: str, exception: BaseException, **_: Any) -> None:
    """`task_failure`: a final failure (pool process), or one the main process detected."""
    if getattr(_failing, "task_id", None) == task_id:
        _failing.counted = True
    labels = task_labels(sender)
    if isinstance(exception, Reject):
        m.TASKS_REJECTED.labels(*labels).inc()
    else:
        m.TASKS_FAILED.labels(*labels, exception_name(exception)).inc()


def on_revoked(request: Request, **_: Any) -> None:
    m.TASKS_REVOKED.labels(request.name, queue_name(request.delivery_info)).inc()


def on_unknown(name: str, message: Message, **_: Any) -> None:
    """`task_unknown` (main process): the name is not registered, so not used as a label."""
    m.TASKS_REJECTED.labels(UNKNOWN_TASK, queue_name(message.delivery_info)).inc()


def on_rejected(message: Message, **_: Any) -> None:
    """`task_rejected` (main process): a message that is no task message Celery can run."""
    m.TASKS_REJECTED.labels(UNKNOWN_TASK, queue_name(message.delivery_info)).inc()


HANDLERS: tuple[tuple[Signal, Callable[..., None]], ...] = (
    (signals.before_task_publish, stamp_publish_time),
    (signals.task_received, on_received),
    (signals.task_prerun, on_prerun),
    (signals.task_postrun, on_postrun),
    (signals.task_success, on_success),
    (signals.task_retry, on_retry),
    (signals.task_failure, on_failure),
    (signals.task_revoked, on_revoked),
    (signals.task_unknown, on_unknown),
    (signals.task_rejected, on_rejected),
)


def connect_signals() -> None:
    """Count every task of this process from now on (idempotent)."""
    for signal, handler in HANDLERS:
        signal.connect(handler, weak=False, dispatch_uid=f"{__name__}.{handler.__name__}")
