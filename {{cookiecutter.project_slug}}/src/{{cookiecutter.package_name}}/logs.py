"""How workers write their logs: Celery's usual text (`LOG_FORMAT=text`, for a developer's shell),
or one JSON object per line (`LOG_FORMAT=json`, for a log store).

Celery's text formatter prints a record's message only, so the fields `TrackedTask` attaches
(`task_id`, `task`, `retries`, `queue`, `exception_type`, redacted arguments, ...) never reach a log
store. In json mode:

- A `setup_logging` receiver gives the root logger one handler that writes JSON lines; Celery then
  configures no handlers of its own, and every logger (Celery's, the tasks', ours, `warnings`)
  propagates to that handler. Pool processes inherit it; setting up again replaces it, never adds.
- `print` in a task is logged as a JSON line too (`worker_redirect_stdouts`, on by default).
- The worker's start-up banner (printed, many lines) gives way to one `starting` line, and the
  `worker: Warm shutdown` line Celery writes from its SIGTERM handler to one logged on
  `worker_shutting_down`.
- Celery's own task lines pass their arguments, unredacted, in `extra={"data": ...}`: only the
  fields in `CELERY_TASK_FIELDS` are kept from it.

The formatter is python-json-logger's: a plain `logging.Formatter`, which is all Celery's records
need (structlog would need a bridge to them). Still plain text: what Celery writes straight to the
terminal on Ctrl+C, SIGQUIT or SIGHUP, and beat's banner, printed before any of this runs (start
beat with `celery --quiet` in json mode).
"""

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from logging.handlers import WatchedFileHandler
from typing import Any, TextIO

from celery import Celery, bootsteps, current_task
from celery.apps.worker import Worker, install_worker_term_handler  # type: ignore[attr-defined]
from celery.signals import celeryd_init, setup_logging, worker_shutting_down
from celery.utils.log import get_multiprocessing_logger
from celery.worker import WorkController
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from .settings import LogFormat

# What a JSON line may show of the `data` Celery attaches to its task lines, and under which name.
# Everything else in it (args, kwargs, return value, traceback, exception repr) is dropped: the
# arguments are unredacted, the rest is in the message or in the exception fields already.
CELERY_TASK_FIELDS = {"id": "task_id", "name": "task", "runtime": "runtime", "eta": "eta"}
# Loggers Celery configures itself in text mode; in json mode they propagate to the root logger.
CELERY_LOGGERS = ("celery", "celery.task", "celery.redirected")

logger = logging.getLogger(__name__)


def exception_type(error: BaseException) -> str:
    """An exception's class as a log line and a dead-letter record name it: `module.QualName`."""
    return f"{type(error).__module__}.{type(error).__qualname__}"


def rfc3339(timestamp: float) -> str:
    """`2026-12-02T01:02:03.456Z`: UTC, milliseconds."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLineFormatter(JsonFormatter):
    """One JSON object per record: `time`, `level`, `logger`, `message`, `process`, then the
    task's fields and the record's `extra` fields; an exception adds `exception_type`,
    `exception_message` and `traceback` (one string: newlines are escaped, never printed)."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message", "processName"],
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "processName": "process",
                "exc_info": "traceback",
            },
            reserved_attrs=[*RESERVED_ATTRS, "data"],
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = rfc3339(record.created)
        super().add_fields(log_data, record, message_dict)
        for name, value in task_fields(record).items():
            log_data.setdefault(name, value)
        if record.exc_info and record.exc_info[1] is not None:
            log_data.setdefault("exception_type", exception_type(record.exc_info[1]))
            log_data.setdefault("exception_message", str(record.exc_info[1]))
        if "traceback" in log_data:  # last: the longest field
            log_data["traceback"] = log_data.pop("traceback")


def task_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The task a record is about: from Celery's `data`, else the task running in this process."""
    data = getattr(record, "data", None)
    if isinstance(data, dict):
        fields = CELERY_TASK_FIELDS.items()
        return {name: data[key] for key, name in fields if data.get(key) is not None}
    if current_task and current_task.request.id:
        return {"task_id": current_task.request.id, "task": current_task.name}
    return {}


def use_json_handler(
    stream: TextIO | None = None, loglevel: int | str | None = None, logfile: str | None = None
) -> logging.Handler:
    """Make one JSON handler (on `stream`, or `logfile`, else stderr) the root logger's only
    handler, and let every other logger propagate to it. Running it again changes nothing more."""
    handler: logging.Handler = (
        WatchedFileHandler(logfile, encoding="utf-8")
        if logfile
        else logging.StreamHandler(stream or sys.__stderr__)
    )
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    for previous in root.handlers:
        root.removeHandler(previous)
        previous.close()
    root.addHandler(handler)
    if loglevel:
        root.setLevel(loglevel)
    propagate_to_root(logging.getLogger(name) for name in CELERY_LOGGERS)
    # billiard's logger reports pool process trouble; Celery shows its errors only.
    multiprocessing_logger = get_multiprocessing_logger()
    if multiprocessing_logger is not None:
        propagate_to_root([multiprocessing_logger])
        multiprocessing_logger.setLevel(logging.ERROR)
    logging.captureWarnings(True)
    return handler


def propagate_to_root(loggers: Iterable[logging.Logger]) -> None:
    for each in loggers:
        each.handlers.clear()
        each.propagate = True


def on_setup_logging(
    app: Celery, loglevel: int | None = None, logfile: str | None = None, **_: Any
) -> None:
    """`setup_logging` receiver: Celery's logging set-up, in JSON."""
    use_json_handler(loglevel=loglevel, logfile=logfile)
    if app.conf.worker_redirect_stdouts:
        app.log.redirect_stdouts(app.conf.worker_redirect_stdouts_level)


def on_worker_init(instance: Any, **_: Any) -> None:
    """`celeryd_init` receiver: JSON from the worker's first line on (Celery warns about a root
    user before it sets up logging), and no banner: `PrintedLinesAsJson` logs one line instead."""
    use_json_handler()
    instance.quiet = True  # what `celery --quiet` sets (celery-types doesn't declare it)


def announce_shutdown(sender: str, how: str, exitcode: int, **_: Any) -> None:
    """`worker_shutting_down` receiver: the JSON line for `worker: Warm shutdown (MainProcess)`."""
    logger.info("%s: %s shutdown", sender, how, extra={"hostname": sender, "exitcode": exitcode})


class PrintedLinesAsJson(bootsteps.StartStopStep):
    """Worker step for what Celery prints rather than logs.

    Its start-up banner (suppressed by `on_worker_init`) becomes one `starting` line. Celery's
    SIGTERM handler writes `worker: Warm shutdown (MainProcess)` straight to stdout: the step
    installs that handler again, without the line (`announce_shutdown` logs it). Steps start right
    after Celery has installed its handlers and the queues are final.
    """

    def include_if(self, worker: WorkController) -> bool:
        return isinstance(worker, Worker)  # `celery worker`, not a worker embedded in a thread

    def start(self, worker: Any) -> None:  # a Worker: celery-types lacks its hostname, concurrency
        install_worker_term_handler(worker, verbose=False)
        queues = sorted(worker.app.amqp.queues.consume_from)
        logger.info(
            "%s starting: %s, concurrency %s, queues %s",
            worker.hostname,
            worker.app.connection_for_read().as_uri(),  # the password masked
            worker.concurrency,
            ", ".join(queues),
            extra={
                "hostname": worker.hostname,
                "concurrency": worker.concurrency,
                "queues": queues,
            },
        )


def install_log_format(app: Celery, log_format: LogFormat) -> None:
    """Make `app`'s workers (and beat) log in `log_format`; text is Celery's own set-up."""
    if log_format != "json":
        return
    uid = f"{__name__}.json"
    setup_logging.connect(partial(on_setup_logging, app), weak=False, dispatch_uid=uid)
    celeryd_init.connect(on_worker_init, weak=False, dispatch_uid=uid)
    worker_shutting_down.connect(announce_shutdown, weak=False, dispatch_uid=uid)
    app.steps["worker"].add(PrintedLinesAsJson)
