"""Every terminal failure becomes exactly one dead-letter record, and dead letters never run."""

import uuid

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter
from {{ cookiecutter.package_name }}.deadletter.replay import replay
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.settings import get_settings
from {{ cookiecutter.package_name }}.topology import TASK_EXCHANGE, WORK_QUEUE

from . import faulty_tasks
from .faulty_tasks import attempts, is_declined, new_record, syncs_record
from .relay import TcpRelay
from .workers import WorkerProcess, wait_for


def wait_for_record(store: RedisDeadLetterStore, task_id: str, within: float = 60) -> DeadLetter:
    wait_for(lambda: store.get(task_id) is not None, within, f"dead-letter record {task_id}")
    record = store.get(task_id)
    assert record is not None
    return record


def test_exhausted_task_is_quarantined(worker: WorkerProcess, store: RedisDeadLetterStore) -> None:
    record_id = new_record(outage_for=3)
    sent = syncs_record.delay(record_id)
    record = wait_for_record(store, sent.id)
    assert (record.task, record.reason, record.retries) == (syncs_record.name, "exhausted", 2)
    assert record.args == [record_id]
    assert record.exception_type == "builtins.ConnectionError"
    assert "503" in record.exception_message
    assert attempts(record_id) == ["unavailable"] * 3


def deliveries(worker: WorkerProcess, task_id: str) -> int:
    """How many deliveries of `task_id` the worker received (each retry is one more)."""
    return worker.log().count(f"[{task_id}] received")


def test_non_retryable_failure_runs_once(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    sent = is_declined.delay("p-declined-2")
    record = wait_for_record(store, sent.id)
    assert (record.reason, record.retries) == ("non_retryable", 0)
    assert record.exception_type == "builtins.PermissionError"
    assert deliveries(worker, sent.id) == 1


def test_rejected_task_is_recorded(
    worker: WorkerProcess, dead_letter_worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    sent = faulty_tasks.rejects_itself.delay()
{%- if cookiecutter.broker == "rabbitmq" %}
    # RabbitMQ dead-letters the rejected message; the dead-letter worker archives it.
{%- endif %}
    record = wait_for_record(store, sent.id)
    assert record.reason == "rejected"
    assert faulty_tasks.runs(sent.id) == 1


def test_hard_time_limit_is_recorded(worker: WorkerProcess, store: RedisDeadLetterStore) -> None:
    sent = faulty_tasks.outlives_its_time_limit.delay()
    record = wait_for_record(store, sent.id)
    assert record.reason == "time_limit"
    assert faulty_tasks.runs(sent.id) == 1


def test_unknown_task_is_recorded(
    worker: WorkerProcess, dead_letter_worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    sent = app.send_task("{{ cookiecutter.package_name }}.tasks.no_such_task", args=[1])
    record = wait_for_record(store, sent.id)
    assert (record.reason, record.args, record.queue) == ("unknown_task", [1], "default")


def test_undecodable_message_is_recorded_as_malformed(
    worker: WorkerProcess, dead_letter_worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    task_id = str(uuid.uuid4())
    headers = {"id": task_id, "task": syncs_record.name, "retries": 0, "origin": "test"}
    with app.producer_or_acquire() as producer:
        producer.publish(
            b"{not json",
            exchange=TASK_EXCHANGE,
            routing_key=WORK_QUEUE,
            content_type="application/json",
            content_encoding="utf-8",
            headers=headers,
        )
    record = wait_for_record(store, task_id)
    assert (record.reason, record.task, record.args) == ("malformed", syncs_record.name, [])
    assert "undecodable body" in record.exception_message


def test_poison_task_is_dead_lettered_after_the_delivery_limit(
    worker: WorkerProcess, dead_letter_worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    limit = get_settings().{{ cookiecutter.broker }}_delivery_limit
    sent = faulty_tasks.kills_its_worker.delay()
{%- if cookiecutter.broker == "rabbitmq" %}
    # RabbitMQ's limit counts redeliveries: the first delivery and `limit` more.
    runs_allowed = limit + 1
{%- else %}
    runs_allowed = limit
{%- endif %}
    record = wait_for_record(store, sent.id, within=120)
    assert record.reason == "delivery_limit"
    assert faulty_tasks.runs(sent.id) == runs_allowed

    # A replay starts a budget of its own.
    assert replay(app, store, record, get_settings().dead_letter_max_replays).outcome == "published"

    def dead_again() -> bool:
        again = store.get(sent.id)
        return again is not None and again.status == "dead"

    wait_for(dead_again, within=120, what="the replay dead-lettered")
    assert faulty_tasks.runs(sent.id) == 2 * runs_allowed
{%- if cookiecutter.broker == "rabbitmq" %}


def test_dead_letter_worker_archives_without_running_the_task(
    worker: WorkerProcess, dead_letter_worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    record_id = new_record(outage_for=3)
    sent = syncs_record.delay(record_id)
    wait_for(
        lambda: f"archived dead letter {sent.id}" in dead_letter_worker.log(),
        within=60,
        what="the broker's dead-letter copy archived",
    )
    assert attempts(record_id) == ["unavailable"] * 3
    record = store.get(sent.id)
    assert record is not None
    assert record.reason == "exhausted"
{%- endif %}


def test_failure_while_the_store_is_down_is_recorded_once_it_is_back(
    worker: WorkerProcess,
    dead_letter_worker: WorkerProcess,
    store: RedisDeadLetterStore,
    store_relay: TcpRelay,
) -> None:
    store_relay.stop()
    try:
        sent = is_declined.delay("p-store-down")
        wait_for(
            lambda: f"keeping {sent.id} unacknowledged" in dead_letter_worker.log(),
            within=60,
            what="the dead-letter worker waiting for the store",
        )
        assert store.get(sent.id) is None
    finally:
        store_relay.start()
    record = wait_for_record(store, sent.id)
    assert (record.reason, record.retries) == ("non_retryable", 0)
    assert deliveries(worker, sent.id) == 1
