"""TrackedTask logs structured records and redacts arguments (metrics: test_metrics_signals.py)."""

import logging
import uuid

import pytest

from {{ cookiecutter.package_name }}.deadletter.replay import REPLAYS_HEADER
from {{ cookiecutter.package_name }}.tasks import deliver_webhook, fetch_profile

from .conftest import MemorySink

TASK = "{{ cookiecutter.package_name }}.tasks.examples.deliver_webhook"


def test_log_records_carry_context_and_redacted_arguments(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def accepted(*args: object, **kwargs: object) -> None:
        return None

    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.post_webhook", accepted)
    caplog.set_level(logging.INFO, logger="{{ cookiecutter.package_name }}.tasks.base")
    payload = {"event": "paid", "token": "tok_live_secret"}
    task_id = f"t-{uuid.uuid4().hex}"
    deliver_webhook.apply(args=["http://subscriber.test/hook", payload], task_id=task_id)
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
    def bad_payload(*args: object, **kwargs: object) -> None:
        raise ValueError("not a profile")  # not retried: the task fails at once

    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.call", bad_payload)
    fetch_profile.apply(args=[7], task_id=f"t-{uuid.uuid4().hex}", headers={REPLAYS_HEADER: 2})
    # The dead-letter worker tells this failure from a stale one by it (deadletter/archive.py).
    assert [record.replays for record in dead_letters.records] == [2]
