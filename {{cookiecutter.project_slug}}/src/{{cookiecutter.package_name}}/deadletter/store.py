"""The dead-letter store: durable records in Redis, indexed by time, task and reason.

Keys (all under one prefix):
- `record:<id>`: the record as JSON (one per task id; saving again updates it in place);
- `index:all`, `index:task:<task>`, `index:reason:<reason>`, `index:task-reason:<task>:<reason>`:
  sorted sets of ids scored by the time of the last failure, so a page of the newest records
  matching any combination of filters costs O(log n + page);
- `tasks`: the names of tasks that have records, for per-task counts;
- `history`: the audit entries of bulk replays, newest first, as JSON.

Redis keeps these durably only with persistence on: run the store's Redis with AOF
(`appendonly yes`).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import islice
from typing import Any, Protocol

import redis
from redis.client import Pipeline

from ..redis_client import redis_client
from ..settings import Settings, get_settings
from .groups import group_id, raised
from .record import REASONS, DeadLetter, Reason, parse_time

PAGE_SIZE = 50
DELETE_BATCH = 500
HISTORY_KEPT = 1000
{%- if cookiecutter.broker == "redis" %}
DELIVERY_COUNT_TTL = 24 * 3600
{%- endif %}


@dataclass(frozen=True)
class Query:
    """Which records to list: all filters are optional and combine. `task`, `reason` and `since`
    are answered by the indexes; `group` and `exception` by reading the records they leave."""

    task: str | None = None
    reason: Reason | None = None
    since: datetime | None = None
    group: str | None = None
    exception: str | None = None

    def indexed(self) -> "Query":
        """This query without the filters the indexes can't answer."""
        return replace(self, group=None, exception=None)

    def matches(self, record: DeadLetter) -> bool:
        """Whether `record` passes the filters the indexes can't answer."""
        return (self.group is None or group_id(record) == self.group) and (
            self.exception is None or raised(record, self.exception)
        )


@dataclass(frozen=True)
class Trimmed:
    """What retention removed, and why."""

    too_old: int
    over_count: int


class DeadLetterStore(Protocol):
    """What the rest of the service needs from a store; another backend implements the same."""

    def save(self, dead_letter: DeadLetter) -> DeadLetter: ...
    def get(self, task_id: str) -> DeadLetter | None: ...
    def page(self, query: Query, offset: int = 0, limit: int = PAGE_SIZE) -> list[DeadLetter]: ...
    def iterate(self, query: Query) -> Iterator[DeadLetter]: ...
    def delete(self, task_id: str) -> bool: ...
    def delete_ids(self, ids: list[str]) -> int: ...
    def counts(self) -> dict[str, dict[str, int]]: ...
    def claim_replay(self, task_id: str, max_replays: int | None) -> DeadLetter | None: ...
    def release_replay(self, task_id: str) -> None: ...
    def trim(self, max_records: int, max_age: timedelta) -> Trimmed: ...
    def add_history(self, entry: dict[str, Any]) -> None: ...
    def history(self, limit: int) -> list[dict[str, Any]]: ...


class RedisDeadLetterStore:
    """`DeadLetterStore` on Redis. The client must decode responses (`decode_responses=True`)."""

    def __init__(self, client: redis.Redis, prefix: str = "deadletter") -> None:
        self.client = client
        self.prefix = prefix

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def save(self, dead_letter: DeadLetter) -> DeadLetter:
        """Store `dead_letter`. A record with the same id keeps its first failure time and its
        replay count, so each task id has exactly one record."""
        key = self.key("record", dead_letter.id)
        saved: list[DeadLetter] = []  # redis-py runs the function again if the key changes

        def merge_and_write(pipe: Pipeline) -> None:
            saved.clear()
            existing = self.decode(pipe.get(key))
            merged = dead_letter
            if existing is not None:
                merged = replace(
                    dead_letter, first_failed_at=existing.first_failed_at, replays=existing.replays
                )
            pipe.multi()
            if existing is not None:
                self.unindex(pipe, existing)
            pipe.set(key, json.dumps(merged.to_storage()))
            self.index(pipe, merged)
            saved.append(merged)

        self.client.transaction(merge_and_write, key)
        return saved[0]

    def get(self, task_id: str) -> DeadLetter | None:
        return self.decode(self.client.get(self.key("record", task_id)))

    def page(self, query: Query, offset: int = 0, limit: int = PAGE_SIZE) -> list[DeadLetter]:
        """Newest first. With `group` or `exception` this reads every record of the rest of the
        query up to the page, so it costs O(offset + limit) or more."""
        if query != query.indexed():
            return list(islice(self.iterate(query), offset, offset + limit))
        low = query.since.timestamp() if query.since else "-inf"
        ids = self.client.zrevrangebyscore(
            self.index_for(query), "+inf", low, start=offset, num=limit
        )
        return self.load(self.ids(ids))

    def iterate(self, query: Query) -> Iterator[DeadLetter]:
        indexed = query.indexed()
        offset = 0
        while page := self.page(indexed, offset, PAGE_SIZE):
            yield from (record for record in page if query.matches(record))
            offset += len(page)

    def delete(self, task_id: str) -> bool:
        return self.delete_ids([task_id]) == 1

    def counts(self) -> dict[str, dict[str, int]]:
        """Records in all, per reason and per task, from the indexes' sizes."""
        tasks = sorted(self.ids(self.client.smembers(self.key("tasks"))))
        with self.client.pipeline(transaction=False) as pipe:
            pipe.zcard(self.key("index", "all"))
            for reason in REASONS:
                pipe.zcard(self.key("index", "reason", reason))
            for task in tasks:
                pipe.zcard(self.key("index", "task", task))
            total, *sizes = (int(size) for size in pipe.execute())
        by_reason = zip(REASONS, sizes[: len(REASONS)], strict=True)
        by_task = zip(tasks, sizes[len(REASONS) :], strict=True)
        return {
            "total": {"records": total},
            "by_reason": {reason: n for reason, n in by_reason if n},
            "by_task": {task: n for task, n in by_task if n},
        }

    def oldest_failed_at(self) -> float | None:
        """The last failure time (a POSIX timestamp) of the record that failed longest ago, in
        one read; None when the store is empty."""
        oldest = self.client.zrange(self.key("index", "all"), 0, 0, withscores=True)
        return float(oldest[0][1]) if oldest else None

    def claim_replay(self, task_id: str, max_replays: int | None) -> DeadLetter | None:
        """Atomically mark a record as replayed; None if it is missing, already replayed and
        not failed since, or was replayed `max_replays` times already (None: no limit)."""
        key = self.key("record", task_id)
        claimed: list[DeadLetter] = []

        def claim(pipe: Pipeline) -> None:
            claimed.clear()
            record = self.decode(pipe.get(key))
            pipe.multi()
            if record is None or not record.replayable(max_replays):
                return
            claimed.append(replace(record, replays=record.replays + 1, status="replayed"))
            pipe.set(key, json.dumps(claimed[0].to_storage()))

        self.client.transaction(claim, key)
        return claimed[0] if claimed else None

    def release_replay(self, task_id: str) -> None:
        """Undo a claim whose publish failed, so the record can be replayed again."""
        key = self.key("record", task_id)

        def release(pipe: Pipeline) -> None:
            record = self.decode(pipe.get(key))
            pipe.multi()
            if record is not None and record.status == "replayed":
                undone = replace(record, replays=record.replays - 1, status="dead")
                pipe.set(key, json.dumps(undone.to_storage()))

        self.client.transaction(release, key)

    def trim(self, max_records: int, max_age: timedelta) -> Trimmed:
        """Delete records older than `max_age`, then the oldest beyond `max_records`."""
        everything = self.key("index", "all")
        cutoff = (datetime.now(UTC) - max_age).timestamp()
        old = self.ids(self.client.zrangebyscore(everything, "-inf", f"({cutoff}"))
        self.delete_ids(old)
        excess = int(self.client.zcard(everything)) - max_records
        surplus = self.ids(self.client.zrange(everything, 0, excess - 1)) if excess > 0 else []
        self.delete_ids(surplus)
        return Trimmed(too_old=len(old), over_count=len(surplus))

    def add_history(self, entry: dict[str, Any]) -> None:
        """Keep the audit entry of a bulk operation, newest first, up to `HISTORY_KEPT`."""
        with self.client.pipeline() as pipe:
            pipe.lpush(self.key("history"), json.dumps(entry))
            pipe.ltrim(self.key("history"), 0, HISTORY_KEPT - 1)
            pipe.execute()

    def history(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` audit entries."""
        entries = self.client.lrange(self.key("history"), 0, limit - 1)
        return [json.loads(entry) for entry in entries]

    def delete_ids(self, ids: list[str]) -> int:
        """Delete the records with these ids, a batch per round trip; returns how many existed."""
        deleted = 0
        for start in range(0, len(ids), DELETE_BATCH):
            records = self.load(ids[start : start + DELETE_BATCH])
            with self.client.pipeline() as pipe:
                for record in records:
                    self.unindex(pipe, record)
                    pipe.delete(self.key("record", record.id))
                pipe.execute()
            deleted += len(records)
        return deleted

    def load(self, ids: list[str]) -> list[DeadLetter]:
        if not ids:
            return []
        values = self.client.mget([self.key("record", task_id) for task_id in ids])
        return [record for value in values if (record := self.decode(value)) is not None]

    def index(self, pipe: Pipeline, record: DeadLetter) -> None:
        score = parse_time(record.last_failed_at).timestamp()
        for index in self.indexes(record):
            pipe.zadd(index, {record.id: score})
        pipe.sadd(self.key("tasks"), record.task)

    def unindex(self, pipe: Pipeline, record: DeadLetter) -> None:
        for index in self.indexes(record):
            pipe.zrem(index, record.id)

    def indexes(self, record: DeadLetter) -> tuple[str, ...]:
        return (
            self.key("index", "all"),
            self.key("index", "task", record.task),
            self.key("index", "reason", record.reason),
            self.key("index", "task-reason", record.task, record.reason),
        )

    def index_for(self, query: Query) -> str:
        if query.task and query.reason:
            return self.key("index", "task-reason", query.task, query.reason)
        if query.task:
            return self.key("index", "task", query.task)
        if query.reason:
            return self.key("index", "reason", query.reason)
        return self.key("index", "all")

{%- if cookiecutter.broker == "redis" %}

    def count_delivery(self, task_id: str, retries: int) -> int:
        """Count one more delivery of the message for this task id and retry; the count
        expires after a day."""
        key = self.key("deliveries", task_id, str(retries))
        with self.client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, DELIVERY_COUNT_TTL)
            count, _ = pipe.execute()
        return int(count)
{%- endif %}

    @staticmethod
    def ids(members: Any) -> list[str]:
        """Members of a Redis set or sorted set, as strings."""
        return [str(member) for member in members]

    @staticmethod
    def decode(value: Any) -> DeadLetter | None:
        return None if value is None else DeadLetter.from_dict(json.loads(value))


def connect_store(settings: Settings) -> RedisDeadLetterStore:
    """The store at `DEAD_LETTER_REDIS_URL`; calls fail fast (5 s) when Redis is unreachable."""
    return RedisDeadLetterStore(redis_client(settings.dead_letter_redis_url))


@cache
def connected_store() -> RedisDeadLetterStore:
    """This process's store, connected once and shared by everything that records or reads."""
    return connect_store(get_settings())
