"""Every task is counted from Celery's signals, whatever its base class (eager, in process)."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from celery.exceptions import Reject
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.deadletter import handoff
from {{ cookiecutter.package_name }}.deadletter.handoff import hand_off
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter, failure_record
from {{ cookiecutter.package_name }}.metrics import signals
from {{ cookiecutter.package_name }}.tasks import deliver_webhook
from {{ cookiecutter.package_name }}.tasks.diagnostics import ping

from .conftest import MemorySink

WEBHOOK = {"name": deliver_webhook.name, "queue_name": "default"}
PING = {"name": ping.name, "queue_name": "default"}


def count(sample: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(sample, labels or {}) or 0.0


def test_retries_count_per_attempt_and_the_failure_once_with_its_class(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink
) -> None:
    def unreachable(*args: object, **kwargs: object) -> None:
        raise ConnectionError("refused")

    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.post_webhook", unreachable)
    failed = {**WEBHOOK, "exception": "ConnectionError"}
    before = count("celery_task_retried_total", WEBHOOK), count("celery_task_failed_total", failed)
    started = count("celery_task_started_total", WEBHOOK)
    deliver_webhook.apply(args=["http://subscriber.test/hook", {}])
    retried_after = count("celery_task_retried_total", WEBHOOK)
    assert retried_after - before[0] == deliver_webhook.max_retries
    assert count("celery_task_failed_total", failed) - before[1] == 1
    assert count("celery_task_started_total", WEBHOOK) - started == deliver_webhook.max_retries + 1


def test_a_plain_task_counts_too() -> None:
    succeeded, timed = (
        count("celery_task_succeeded_total", PING),
        count("celery_task_runtime_count", PING),
    )
    ping.apply()
    assert count("celery_task_succeeded_total", PING) - succeeded == 1
    assert count("celery_task_runtime_count", PING) - timed == 1


def test_a_task_rejecting_its_message_counts_as_rejected_not_failed() -> None:
    rejected = count("celery_task_rejected_total", PING)
    failed = count("celery_task_failed_total", {**PING, "exception": "Reject"})
    signals.on_failure(sender=ping, task_id="t-1", exception=Reject("no", requeue=False))
    assert count("celery_task_rejected_total", PING) - rejected == 1
    assert count("celery_task_failed_total", {**PING, "exception": "Reject"}) == failed


def test_every_publish_is_stamped() -> None:
    headers: dict[str, object] = {}
    signals.stamp_publish_time(headers=headers)
    stamped = headers[signals.PUBLISHED_AT_HEADER]
    assert isinstance(stamped, float)
    assert abs(stamped - time.time()) < 5


@pytest.mark.parametrize(
    ("published_ago", "eta_ago", "wait"), [(10.0, None, 10.0), (10.0, 4.0, 4.0), (3.0, 9.0, 3.0)]
)
def test_queue_wait_runs_from_the_later_of_publish_and_eta(
    published_ago: float, eta_ago: float | None, wait: float
) -> None:
    now = time.time()
    eta = None if eta_ago is None else datetime.fromtimestamp(now - eta_ago, UTC).isoformat()
    ping.push_request(**{signals.PUBLISHED_AT_HEADER: now - published_ago, "eta": eta})
    try:
        assert signals.queue_wait(ping, now) == pytest.approx(wait)
    finally:
        ping.pop_request()


@pytest.mark.parametrize(
    ("routing_key", "queue"),
    [("default", "default"), ("0.0.1.1.default", "default"), ("", "default"), ("a.b", "a.b")],
)
def test_queue_name_drops_a_delayed_delivery_prefix(routing_key: str, queue: str) -> None:
    assert signals.queue_name({"routing_key": routing_key}) == queue


def record(reason: str) -> DeadLetter:
    return failure_record(
        task_id=f"t-{reason}-{time.time_ns()}",
        task=ping.name,
        args=[],
        kwargs={},
        reason=reason,  # type: ignore[arg-type]
        error=ValueError("boom"),
        traceback="",
        retries=0,
        queue="default",
        hostname="test",
    )


def test_dead_letters_count_per_reason_and_delivery_limit_hits(dead_letters: MemorySink) -> None:
    labels = {**PING, "reason": "delivery_limit"}
    before = (
        count("celery_dead_letters_total", labels),
        count("celery_delivery_limit_hits_total", PING),
    )
    hand_off(record("delivery_limit"))
    assert count("celery_dead_letters_total", labels) - before[0] == 1
    assert count("celery_delivery_limit_hits_total", PING) - before[1] == 1


class RefusingSink:
    def record(self, dead_letter: DeadLetter) -> None:
        raise redis.ConnectionError("store down")


def test_a_refused_store_write_counts_as_a_failure_not_yet_a_dead_letter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published: list[DeadLetter] = []
    monkeypatch.setattr(handoff, "publish_record", published.append)
    previous = handoff.use_sink(RefusingSink())
    labels = {**PING, "reason": "exhausted"}
    try:
        failures = count("celery_dead_letter_store_write_failures_total")
        dead = count("celery_dead_letters_total", labels)
        hand_off(record("exhausted"))
    finally:
        handoff.use_sink(previous)
    assert len(published) == 1
    assert count("celery_dead_letter_store_write_failures_total") - failures == 1
    # The dead-letter worker counts it once it has stored the published record.
    assert count("celery_dead_letters_total", labels) == dead


def test_the_oldest_record_age_is_measured_at_scrape_time() -> None:
    from {{ cookiecutter.package_name }}.metrics.gauges import Readings, store_gauges

    failed_at = (datetime.now(UTC) - timedelta(minutes=5)).timestamp()
    readings = Readings(records_by_reason={"exhausted": 2}, oldest_failed_at=failed_at)
    records, oldest = store_gauges(readings, failed_at + 300)
    assert {s.labels["reason"]: s.value for s in records.samples}["exhausted"] == 2
    assert {s.labels["reason"]: s.value for s in records.samples}["malformed"] == 0
    assert oldest.samples[0].value == pytest.approx(300)
