"""TrackedTask logs structured records and redacts arguments; DLQTask dead-letters a task's final
failure (metrics: test_metrics_signals.py)."""

import logging
import uuid

import pytest

from {{ cookiecutter.package_name }}.deadletter.replay import REPLAYS_HEADER

from .conftest import MemorySink
from .delivery_task import deliver, deliveries_fail

TASK = deliver.name


def test_log_records_carry_context_and_redacted_arguments(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="{{ cookiecutter.package_name }}.tasks.base")
    payload = {"event": "paid", "token": "tok_live_secret"}
    task_id = f"t-{uuid.uuid4().hex}"
    deliver.apply(args=["http://subscriber.test/hook", payload], task_id=task_id)
    succeeded = f"task {TASK}[{task_id}] succeeded"
    [record] = [vars(r) for r in caplog.records if r.getMessage() == succeeded]
    assert record["task_id"] == task_id
    assert record["task"] == TASK
    assert record["retries"] == 0
    assert record["task_args"][1] == {"event": "paid", "token": "[redacted]"}
    assert "tok_live_secret" not in caplog.text


def test_a_failed_replay_records_which_replay_failed(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink
) -> None:
    deliveries_fail(monkeypatch, ValueError, "not a payload")  # not retried: fails at once
    deliver.apply(
        args=["http://subscriber.test/hook", {}],
        task_id=f"t-{uuid.uuid4().hex}",
        headers={REPLAYS_HEADER: 2},
    )
    # The dead-letter worker tells this failure from a stale one by it (deadletter/archive.py).
    assert [record.replays for record in dead_letters.records] == [2]


def test_an_exhausted_task_is_dead_lettered_with_its_arguments(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink
) -> None:
    deliveries_fail(monkeypatch, ConnectionError, "subscriber unreachable")
    result = deliver.apply(args=["http://subscriber.test/hook", {"event": "paid"}])  # all retries
    assert result.failed()
    [record] = dead_letters.records
    assert (record.task, record.reason, record.retries) == (TASK, "exhausted", deliver.max_retries)
    assert record.args == ["http://subscriber.test/hook", {"event": "paid"}]
    assert record.exception_type == "builtins.ConnectionError"
    assert record.exception_message == "subscriber unreachable"
    assert "ConnectionError" in record.traceback
