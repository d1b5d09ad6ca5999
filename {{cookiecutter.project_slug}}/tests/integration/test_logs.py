"""With LOG_FORMAT=json every line a worker writes is one JSON object: Celery's own lines, the
start-up and shutdown lines, and a failed task's line with its exception and redacted arguments.
The session's workers run in json mode (conftest.JSON_LOGS)."""

import json
import re
from pathlib import Path
from typing import Any

from kombu import Connection

from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_QUEUE, WORK_QUEUE

from . import faulty_tasks
from .test_dead_letters import wait_for_record
from .workers import WorkerProcess, spawn_worker, wait_for

SECRET = "sk_live_never-in-a-log"
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
TASK_LOGGER = "{{ cookiecutter.package_name }}.tasks.base"


def json_lines(log: str) -> list[dict[str, Any]]:
    """Every line of `log`, parsed; fails naming the first line that is not a JSON log object."""
    parsed = []
    for number, line in enumerate(log.splitlines(), start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"line {number} is not JSON: {line!r}") from None
        assert isinstance(entry, dict), f"line {number} is not an object: {line!r}"
        assert {"time", "level", "logger", "message"} <= entry.keys(), f"line {number}: {line!r}"
        assert RFC3339_UTC.fullmatch(entry["time"]), f"line {number}: time {entry['time']!r}"
        parsed.append(entry)
    return parsed


def lines_about(worker: WorkerProcess, task_id: str, logger: str) -> list[dict[str, Any]]:
    return [
        line
        for line in json_lines(worker.log())
        if line.get("task_id") == task_id and line["logger"] == logger
    ]


def test_task_lines_are_json_with_exception_fields_and_no_secret(
    worker: WorkerProcess,
    dead_letter_worker: WorkerProcess,
    store: RedisDeadLetterStore,
) -> None:
    payload = {"event": "paid", "api_key": SECRET}
    faulty_tasks.fix("json-logs")
    succeeded = faulty_tasks.uses_credentials.apply_async(
        kwargs={"account": "json-logs", "api_key": SECRET, "payload": payload}
    )
    failed = faulty_tasks.refuses_credentials.apply_async(kwargs={"api_key": SECRET})
    wait_for_record(store, failed.id)
    wait_for(
        lambda: bool(lines_about(worker, failed.id, "celery.app.trace")),
        30,
        "Celery's line of the failed task",
    )
    wait_for(
        lambda: bool(lines_about(worker, succeeded.id, TASK_LOGGER)),
        30,
        "the succeeded task's line",
    )

    [failure] = lines_about(worker, failed.id, TASK_LOGGER)
    assert failure["level"] == "ERROR"
    assert failure["task"] == faulty_tasks.refuses_credentials.name
    assert (failure["retries"], failure["queue"]) == (0, WORK_QUEUE)
    assert failure["exception_type"] == "builtins.PermissionError"
    assert failure["exception_message"] == "credentials refused"
    assert failure["traceback"].startswith("Traceback (most recent call last):")
    assert failure["traceback"].rstrip().endswith("PermissionError: credentials refused")
    assert (failure["task_args"], failure["task_kwargs"]) == ([], {"api_key": "[redacted]"})

    [celery_failure] = lines_about(worker, failed.id, "celery.app.trace")
    assert celery_failure["exception_type"] == "builtins.PermissionError"
    assert "PermissionError: credentials refused" in celery_failure["traceback"]

    [success] = lines_about(worker, succeeded.id, TASK_LOGGER)
    assert success["task_kwargs"]["payload"] == {"event": "paid", "api_key": "[redacted]"}
    assert success["task_kwargs"]["api_key"] == "[redacted]"

    for each in (worker, dead_letter_worker):
        lines = json_lines(each.log())
        assert any(line["message"] == f"{each.nodename} ready." for line in lines)
        assert SECRET not in each.log()


def test_start_up_and_shutdown_lines_are_json(broker: Connection, worker_logs: Path) -> None:
    spawned = spawn_worker(worker_logs, f"--queues={DEAD_LETTER_QUEUE}", env={"LOG_FORMAT": "json"})
    try:
        spawned.wait_until_ready()
    finally:
        exit_code = spawned.stop()  # a warm shutdown: SIGTERM
    assert exit_code == 0
    messages = [line["message"] for line in json_lines(spawned.log())]
    assert any(m.startswith(f"{spawned.nodename} starting:") for m in messages), messages
    assert f"{spawned.nodename} ready." in messages
    assert f"{spawned.nodename}: Warm shutdown" in messages
