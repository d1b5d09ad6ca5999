"""Every task is counted from Celery's signals, whatever its base class (eager, in process)."""

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import redis
from kombu import Connection
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.deadletter import handoff
from {{ cookiecutter.package_name }}.deadletter.handoff import hand_off
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter, failure_record
from {{ cookiecutter.package_name }}.metrics import signals
from {{ cookiecutter.package_name }}.tasks.diagnostics import ping
from {{ cookiecutter.package_name }}.topology import WORK_QUEUE

from .conftest import MemorySink
from .delivery_task import deliver, deliveries_fail

DELIVERY = {"name": deliver.name, "queue_name": "default"}
PING = {"name": ping.name, "queue_name": "default"}


def count(sample: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(sample, labels or {}) or 0.0


def test_retries_count_per_attempt_and_the_failure_once_with_its_class(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink
) -> None:
    deliveries_fail(monkeypatch, ConnectionError, "refused")
    failed = {**DELIVERY, "exception": "ConnectionError"}
    before = count("celery_task_retried_total", DELIVERY), count("celery_task_failed_total", failed)
    started = count("celery_task_started_total", DELIVERY)
    deliver.apply(args=["http://subscriber.test/hook", {}])
    retried_after = count("celery_task_retried_total", DELIVERY)
    assert retried_after - before[0] == deliver.max_retries
    assert count("celery_task_failed_total", failed) - before[1] == 1
    assert count("celery_task_started_total", DELIVERY) - started == deliver.max_retries + 1


def test_a_plain_task_counts_too() -> None:
    succeeded, timed = (
        count("celery_task_succeeded_total", PING),
        count("celery_task_runtime_count", PING),
    )
    ping.apply()
    assert count("celery_task_succeeded_total", PING) - succeeded == 1
    assert count("celery_task_runtime_count", PING) - timed == 1


# A task rejecting its message is counted by the worker's main process: see
# tests/integration/test_metrics.py (eager runs never fire `task_failure` for a `Reject`).


def test_every_publish_is_stamped() -> None:
    """Published through Celery's own path onto an in-memory broker, and read back from it."""
    with Connection("memory://") as broker, broker.Producer() as producer:
        before = time.time()
        sent = ping.apply_async(producer=producer)
        with broker.SimpleQueue(WORK_QUEUE) as queue:
            message = queue.get(timeout=5)
            message.ack()
    assert message.headers["id"] == sent.id
    stamped = message.headers[signals.PUBLISHED_AT_HEADER]
    assert isinstance(stamped, float)
    assert before <= stamped <= time.time()


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


@pytest.mark.parametrize(("eta", "wait"), [(None, 10.0), ("not a date", 10.0), ("naive-utc", 4.0)])
def test_queue_wait_reads_a_naive_eta_as_utc_and_ignores_an_unreadable_one(
    eta: str | None, wait: float
) -> None:
    now = time.time()
    if eta == "naive-utc":
        eta = datetime.fromtimestamp(now - 4.0, UTC).replace(tzinfo=None).isoformat()
    ping.push_request(**{signals.PUBLISHED_AT_HEADER: now - 10.0, "eta": eta})
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


@pytest.mark.parametrize("reason", ["unknown_task", "malformed"])
def test_a_task_name_the_message_chose_is_never_a_label_value(
    reason: str, dead_letters: MemorySink
) -> None:
    chosen = f"chosen-by-the-sender-{time.time_ns()}"
    labels = {"name": signals.UNKNOWN_TASK, "queue_name": "default", "reason": reason}
    before = count("celery_dead_letters_total", labels)
    hand_off(replace(record(reason), task=chosen))
    assert count("celery_dead_letters_total", labels) - before == 1
    assert count("celery_dead_letters_total", {**labels, "name": chosen}) == 0


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
