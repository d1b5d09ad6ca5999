"""TrackedTask counts each attempt once, logs structured records, and redacts arguments."""

import logging
import uuid

import pytest
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.tasks import deliver_webhook

from .conftest import MemorySink

TASK = "{{ cookiecutter.package_name }}.tasks.examples.deliver_webhook"


def count(metric: str) -> float:
    return REGISTRY.get_sample_value(metric, {"task": TASK}) or 0.0


def test_retries_are_counted_per_attempt_and_failure_once(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink
) -> None:
    def unreachable(*args: object, **kwargs: object) -> None:
        raise ConnectionError("refused")

    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.post_webhook", unreachable)
    retried, failed = count("celery_tasks_retried_total"), count("celery_tasks_failed_total")
    deliver_webhook.apply(args=["http://subscriber.test/hook", {}])
    assert count("celery_tasks_retried_total") - retried == deliver_webhook.max_retries
    assert count("celery_tasks_failed_total") - failed == 1


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
    [record] = [vars(r) for r in caplog.records if r.getMessage() == "task succeeded"]
    assert record["task_id"] == task_id
    assert record["task"] == TASK
    assert record["retries"] == 0
    assert record["task_args"][1] == {"event": "paid", "token": "[redacted]"}
    assert "tok_live_secret" not in caplog.text
    assert count("celery_task_duration_seconds_count") >= 1
