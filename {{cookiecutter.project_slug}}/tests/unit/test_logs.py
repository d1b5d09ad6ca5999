"""JSON log lines: one line per record, RFC 3339 UTC time, the task's fields, the traceback as a
field, and never an unredacted argument."""

import io
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from celery.app.trace import LOG_SUCCESS
from celery.app.trace import info as celery_task_line
from celery.utils.log import get_multiprocessing_logger

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.logs import CELERY_LOGGERS, JsonLineFormatter, on_setup_logging
from {{ cookiecutter.package_name }}.settings import SettingsError, get_settings

from .conftest import MemorySink
from .delivery_task import deliver, deliveries_fail

SECRET = "tok_live_never-in-a-log"
TASK = deliver.name


def record(message: str, exc_info: Any = None, extra: Any = None) -> logging.LogRecord:
    return logging.getLogger("orders").makeRecord(
        "orders", logging.INFO, __file__, 1, message, (), exc_info, extra=extra
    )


def reject_card() -> None:
    raise ValueError("card 4111 rejected")


def formatted(log_record: logging.LogRecord) -> dict[str, Any]:
    """The record as a JSON line, which must be exactly one line."""
    line = JsonLineFormatter().format(log_record)
    assert "\n" not in line
    parsed: dict[str, Any] = json.loads(line)
    return parsed


class JsonLines(logging.Handler):
    """Keeps what `JsonLineFormatter` makes of each record, parsed back."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonLineFormatter())
        self.lines: list[dict[str, Any]] = []
        self.text = ""

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        self.text += line + "\n"
        self.lines.append(json.loads(line))


@pytest.fixture
def json_lines_of() -> Iterator[Any]:
    """`json_lines_of(logger_name)` captures that logger's records as JSON lines."""
    attached: list[tuple[logging.Logger, JsonLines]] = []

    def attach(name: str) -> JsonLines:
        handler, logger = JsonLines(), logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        attached.append((logger, handler))
        return handler

    yield attach
    for logger, handler in attached:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def test_a_record_with_an_exception_is_one_line_with_the_traceback_as_a_field() -> None:
    try:
        reject_card()
    except ValueError:
        line = formatted(record("charging failed", exc_info=sys.exc_info()))
    assert line["exception_type"] == "builtins.ValueError"
    assert line["exception_message"] == "card 4111 rejected"
    assert line["traceback"].startswith("Traceback (most recent call last):")
    assert line["traceback"].endswith("ValueError: card 4111 rejected")
    assert list(line)[-1] == "traceback"


def test_time_is_rfc3339_utc_with_milliseconds() -> None:
    moment = datetime(2026, 12, 2, 1, 2, 3, 456000, tzinfo=UTC)
    log_record = record("tick")
    log_record.created = moment.timestamp()
    line = formatted(log_record)
    assert line["time"] == "2026-12-02T01:02:03.456Z"
    assert list(line)[:4] == ["time", "level", "logger", "message"]


def test_a_records_extra_fields_are_fields_of_the_line() -> None:
    line = formatted(record("order %s paid", extra={"order_id": 42, "amounts": [1, 2]}))
    assert (line["level"], line["logger"]) == ("INFO", "orders")
    assert (line["order_id"], line["amounts"]) == (42, [1, 2])


def test_celery_task_lines_keep_the_task_and_drop_the_arguments(json_lines_of: Any) -> None:
    captured = json_lines_of("celery.app.trace")
    task_id = str(uuid.uuid4())
    celery_task_line(
        LOG_SUCCESS,
        {
            "id": task_id,
            "name": TASK,
            "return_value": "None",
            "runtime": 0.25,
            "args": repr(["http://subscriber.test/hook"]),
            "kwargs": repr({"token": SECRET}),
        },
    )
    [line] = captured.lines
    assert line["message"] == f"Task {TASK}[{task_id}] succeeded in 0.25s: None"
    assert (line["task_id"], line["task"], line["runtime"]) == (task_id, TASK, 0.25)
    assert SECRET not in captured.text


def test_a_failed_tracked_task_line_has_the_exception_and_redacted_arguments(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink, json_lines_of: Any
) -> None:
    deliveries_fail(monkeypatch, PermissionError, "subscriber refused the token")
    captured = json_lines_of("{{ cookiecutter.package_name }}.tasks.base")
    task_id = str(uuid.uuid4())
    payload = {"event": "paid", "token": SECRET}
    deliver.apply(args=["http://subscriber.test/hook", payload], task_id=task_id)
    [line] = [line for line in captured.lines if line["level"] == "ERROR"]
    assert (line["task_id"], line["task"], line["retries"]) == (task_id, TASK, 0)
    assert line["exception_type"] == "builtins.PermissionError"
    assert line["exception_message"] == "subscriber refused the token"
    assert "PermissionError: subscriber refused the token" in line["traceback"]
    assert line["task_args"][1] == {"event": "paid", "token": "[redacted]"}
    assert SECRET not in captured.text


@pytest.fixture
def worker_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """A stand-in for the worker's stderr; the logging set-up a test changes is restored after."""
    loggers = [logging.getLogger(), *map(logging.getLogger, CELERY_LOGGERS)]
    multiprocessing_logger = get_multiprocessing_logger()
    if multiprocessing_logger is not None:
        loggers.append(multiprocessing_logger)
    saved = [(each, each.handlers[:], each.propagate, each.level) for each in loggers]
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "__stderr__", stderr)
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # restored: set-up redirects it
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    for name in ("CELERY_LOG_REDIRECT", "CELERY_LOG_REDIRECT_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    yield stderr
    logging.captureWarnings(False)
    for each, handlers, propagate, level in saved:
        each.handlers[:] = handlers
        each.propagate, each.level = propagate, level


def test_setting_up_again_leaves_one_handler_and_print_becomes_a_json_line(
    worker_logging: io.StringIO,
) -> None:
    for _ in range(2):  # the main process, then a pool process
        on_setup_logging(app, loglevel=logging.INFO)
    print("hello from a task")
    logging.getLogger("celery.worker").info("Connected to %s", "memory://")
    lines = [json.loads(line) for line in worker_logging.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("celery.redirected", "hello from a task"),
        ("celery.worker", "Connected to memory://"),
    ]


def test_an_unknown_log_format_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match=r"LOG_FORMAT: Input should be 'text' or 'json'.*'xml'"):
        get_settings()
