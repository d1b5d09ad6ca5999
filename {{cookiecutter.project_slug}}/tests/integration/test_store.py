"""The dead-letter store on real Redis: one record per task id, filtered pages, retention."""

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from kombu.message import Message

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.archive import archive
from {{ cookiecutter.package_name }}.deadletter.groups import group_id
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter, Reason
from {{ cookiecutter.package_name }}.deadletter.replay import REPLAYS_HEADER
from {{ cookiecutter.package_name }}.deadletter.store import Query, RedisDeadLetterStore
from {{ cookiecutter.package_name }}.deadletter.transport import RECORD_HEADER
from {{ cookiecutter.package_name }}.settings import get_settings
from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE

from ..records import a_dead_letter
from .faulty_tasks import syncs_record
from .workers import spawn_worker, wait_for


@pytest.fixture
def fresh_store() -> Iterator[RedisDeadLetterStore]:
    """A store under a prefix of its own, deleted afterwards."""
    url = get_settings().dead_letter_redis_url.get_secret_value()
    client = redis.Redis.from_url(url, decode_responses=True)
    store = RedisDeadLetterStore(client, prefix=f"test-{uuid.uuid4().hex[:8]}")
    yield store
    for key in client.scan_iter(f"{store.prefix}:*"):
        client.delete(key)


def dead_letter(
    task: str = "svc.tasks.a", reason: Reason = "exhausted", age_days: float = 0
) -> DeadLetter:
    failed_at = (datetime.now(UTC) - timedelta(days=age_days)).isoformat()
    return a_dead_letter(
        id=str(uuid.uuid4()),
        task=task,
        reason=reason,
        retries=0,
        first_failed_at=failed_at,
        last_failed_at=failed_at,
        hostname="test",
    )


def test_saving_the_same_task_again_keeps_one_record(fresh_store: RedisDeadLetterStore) -> None:
    first = dead_letter(age_days=1)
    fresh_store.save(first)
    again = replace(first, reason="non_retryable", last_failed_at=datetime.now(UTC).isoformat())
    saved = fresh_store.save(again)
    assert saved.first_failed_at == first.first_failed_at
    assert fresh_store.counts()["total"] == {"records": 1}
    assert fresh_store.counts()["by_reason"] == {"non_retryable": 1}


def test_pages_filter_by_task_reason_and_time(fresh_store: RedisDeadLetterStore) -> None:
    old = fresh_store.save(dead_letter("svc.tasks.a", "exhausted", age_days=2))
    new = fresh_store.save(dead_letter("svc.tasks.a", "rejected"))
    other = fresh_store.save(dead_letter("svc.tasks.b", "exhausted"))
    assert [r.id for r in fresh_store.page(Query(task="svc.tasks.a"))] == [new.id, old.id]
    assert [r.id for r in fresh_store.page(Query(reason="exhausted"))] == [other.id, old.id]
    assert [r.id for r in fresh_store.page(Query(task="svc.tasks.a", reason="exhausted"))] == [
        old.id
    ]
    since = datetime.now(UTC) - timedelta(days=1)
    assert {r.id for r in fresh_store.page(Query(since=since))} == {new.id, other.id}
    assert [r.id for r in fresh_store.page(Query(), offset=1, limit=1)] == [new.id]


def test_retention_removes_the_old_then_the_oldest(fresh_store: RedisDeadLetterStore) -> None:
    fresh_store.save(dead_letter(age_days=40))
    kept = [fresh_store.save(dead_letter(age_days=age)) for age in (3, 2, 1)]
    trimmed = fresh_store.trim(max_records=2, max_age=timedelta(days=30))
    assert (trimmed.too_old, trimmed.over_count) == (1, 1)
    assert {r.id for r in fresh_store.iterate(Query())} == {kept[1].id, kept[2].id}


def test_the_oldest_failure_is_read_from_the_index(fresh_store: RedisDeadLetterStore) -> None:
    assert fresh_store.oldest_failed_at() is None
    oldest, _newer = (fresh_store.save(dead_letter(age_days=age)) for age in (3, 1))
    assert fresh_store.oldest_failed_at() == pytest.approx(
        datetime.fromisoformat(oldest.last_failed_at).timestamp()
    )


def test_a_claimed_record_is_not_claimed_twice(fresh_store: RedisDeadLetterStore) -> None:
    record = fresh_store.save(dead_letter())
    assert fresh_store.claim_replay(record.id, max_replays=3) is not None
    assert fresh_store.claim_replay(record.id, max_replays=3) is None
    fresh_store.release_replay(record.id)
    claimed = fresh_store.claim_replay(record.id, max_replays=3)
    assert claimed is not None
    assert claimed.replays == 1


def dead_lettered_copy(record: DeadLetter, replays: int) -> Message:
    """The task message of `record` (its `replays`-th replay; 0: the original run) as RabbitMQ
    dead-letters it after a rejection."""
    headers: dict[str, Any] = {
        "id": record.id,
        "task": record.task,
        "retries": 0,
        "x-death": [{"reason": "rejected", "queue": "default", "time": datetime.now(UTC)}],
    }
    if replays:
        headers[REPLAYS_HEADER] = replays
    return Message(
        body=json.dumps([record.args, record.kwargs, {}]),
        content_type="application/json",
        content_encoding="utf-8",
        headers=headers,
        delivery_info={"exchange": DEAD_LETTER_EXCHANGE.name, "routing_key": DEAD_LETTER_QUEUE},
    )


def test_a_failure_archived_late_does_not_undo_a_later_replay(
    fresh_store: RedisDeadLetterStore,
) -> None:
    record = fresh_store.save(dead_letter(task=syncs_record.name))
    claimed = fresh_store.claim_replay(record.id, max_replays=3)
    assert claimed is not None
    # The dead-letter worker fell behind: the original run's copy arrives after the replay.
    assert archive(dead_lettered_copy(record, replays=0), fresh_store, app.tasks) == claimed
    assert fresh_store.get(record.id) == claimed
    # A failure of the replay itself is recorded.
    failed = archive(dead_lettered_copy(record, replays=1), fresh_store, app.tasks)
    assert (failed.status, failed.reason, failed.replays) == ("dead", "rejected", 1)


def published_record(record: DeadLetter) -> Message:
    """`record` as the failing task publishes it when the store is down."""
    return Message(
        body=json.dumps(record.to_storage()),
        content_type="application/json",
        content_encoding="utf-8",
        headers={RECORD_HEADER: "1", "id": record.id},
        delivery_info={"exchange": DEAD_LETTER_EXCHANGE.name, "routing_key": DEAD_LETTER_QUEUE},
    )


def test_a_record_published_late_does_not_undo_a_later_replay(
    fresh_store: RedisDeadLetterStore,
) -> None:
    record = fresh_store.save(dead_letter(task=syncs_record.name))
    claimed = fresh_store.claim_replay(record.id, max_replays=3)
    assert claimed is not None
    # The original run's record, published while the store was down, arrives after the replay.
    assert archive(published_record(record), fresh_store, app.tasks) == claimed
    assert fresh_store.get(record.id) == claimed
    # The replay's own failure, published the same way, is recorded.
    failed = archive(published_record(replace(record, replays=1)), fresh_store, app.tasks)
    assert (failed.status, failed.replays) == ("dead", 1)


def test_dead_letter_worker_applies_retention_as_it_starts(
    store: RedisDeadLetterStore, worker_logs: Path
) -> None:
    expired = store.save(dead_letter(age_days=get_settings().dead_letter_max_age_days + 1))
    # A task of its own, so that no record another test left shares its group.
    ungrouped = dead_letter(task="tests.integration.test_store.written_before_groups")
    with store.client.pipeline() as pipe:  # as a version without group indexes wrote it
        pipe.set(store.key("record", ungrouped.id), json.dumps(ungrouped.to_storage()))
        failed_at = datetime.fromisoformat(ungrouped.last_failed_at).timestamp()
        pipe.zadd(store.key("index", "all"), {ungrouped.id: failed_at})
        pipe.execute()
    in_its_group = Query(group=group_id(ungrouped))
    dead_letter_worker = spawn_worker(worker_logs, f"--queues={DEAD_LETTER_QUEUE}")
    try:
        wait_for(lambda: store.get(expired.id) is None, within=60, what="expired record trimmed")
        wait_for(
            lambda: [record.id for record in store.page(in_its_group)] == [ungrouped.id],
            within=10,
            what="old record grouped",
        )
    finally:
        dead_letter_worker.stop()
    assert "dead-letter retention deleted" in dead_letter_worker.log()
    assert [record.id for record in store.page(in_its_group)] == [ungrouped.id]
