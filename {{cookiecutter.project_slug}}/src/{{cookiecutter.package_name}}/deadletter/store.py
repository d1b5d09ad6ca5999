"""The dead-letter store: durable records in Redis, indexed by time, task and reason.

Keys (all under one prefix):
- `record:<id>`: the record as JSON (one per task id; saving again updates it in place);
- `index:all`, `index:task:<task>`, `index:reason:<reason>`, `index:task-reason:<task>:<reason>`:
  sorted sets of ids scored by the time of the last failure, so a page of the newest records
  matching any combination of filters costs O(log n + page);
- `tasks`: the names of tasks that have records, for per-task counts;
- failure groups (groups.py), kept up to date on every write so a page of groups costs O(page):
  `index:group:<group>` and `index:group-first:<group>`, the group's ids scored by last and by
  first failure time; `groups`, the group ids scored by their record counts; `group:<group>`,
  what the group's records share, as JSON;
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
from .groups import Group, group_id, message_shape, raised
from .record import REASONS, DeadLetter, Reason, parse_time

PAGE_SIZE = 50
DELETE_BATCH = 500
HISTORY_KEPT = 1000
# KEYS: the group's ids by last and by first failure, the groups by count, the group's
# description. ARGV: the record id, its last and first failure times, the group id, the
# description. Scripts, so a group's count is always the size of its index.
INDEX_GROUP = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SET', KEYS[4], ARGV[5])
redis.call('ZADD', KEYS[3], redis.call('ZCARD', KEYS[1]), ARGV[4])
"""
UNINDEX_GROUP = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then
  redis.call('ZREM', KEYS[3], ARGV[4])
  redis.call('DEL', KEYS[4])
else
  redis.call('ZADD', KEYS[3], left, ARGV[4])
end
"""
{%- if cookiecutter.broker == "redis" %}
DELIVERY_COUNT_TTL = 24 * 3600
{%- endif %}


@dataclass(frozen=True)
class Query:
    """Which records to list: all filters are optional and combine. `group`, `task`, `reason`
    and `since` are answered by the indexes; `exception` alone by reading the records they leave
    (with a group, the group decides it: its records share their exception type)."""

    task: str | None = None
    reason: Reason | None = None
    since: datetime | None = None
    group: str | None = None
    exception: str | None = None

    def indexed(self) -> "Query":
        """This query without the filters the indexes can't answer."""
        return self if self.group is not None else replace(self, exception=None)

    def matches(self, record: DeadLetter) -> bool:
        """Whether `record` passes the filters other than `since`."""
        return (
            (self.group is None or group_id(record) == self.group)
            and (self.exception is None or raised(record, self.exception))
            and (self.task is None or record.task == self.task)
            and (self.reason is None or record.reason == self.reason)
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
    def groups(self, offset: int = 0, limit: int = PAGE_SIZE) -> list[Group]: ...
    def group(self, group: str) -> Group | None: ...
    def group_count(self) -> int: ...
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
        self.index_group = client.register_script(INDEX_GROUP)
        self.unindex_group = client.register_script(UNINDEX_GROUP)

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
        """Newest first. With `exception` and no `group` this reads every record of the rest of
        the query up to the page, so it costs O(offset + limit) or more; otherwise O(page)."""
        if query != query.indexed():
            return list(islice(self.iterate(query), offset, offset + limit))
        ids = self.indexed_ids(query, offset, limit)
        return [record for record in self.load(ids) if query.matches(record)]

    def iterate(self, query: Query) -> Iterator[DeadLetter]:
        """Every matching record, newest first. It steps through the index by the ids it read,
        not by the records that matched, so a record filtered out or deleted meanwhile neither
        repeats another nor ends the walk early."""
        indexed = query.indexed()
        offset = 0
        while ids := self.indexed_ids(indexed, offset, PAGE_SIZE):
            yield from (record for record in self.load(ids) if query.matches(record))
            offset += len(ids)

    def indexed_ids(self, query: Query, offset: int, limit: int) -> list[str]:
        """A page of the ids in the index that answers `query`, newest first."""
        low = query.since.timestamp() if query.since else "-inf"
        found = self.client.zrevrangebyscore(
            self.index_for(query), "+inf", low, start=offset, num=limit
        )
        return self.ids(found)

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

    def groups(self, offset: int = 0, limit: int = PAGE_SIZE) -> list[Group]:
        """A page of the failure groups, largest first, from the group indexes: O(page)."""
        counted = self.client.zrevrange(self.key("groups"), offset, offset + limit - 1)
        return self.described_groups(self.ids(counted))

    def group(self, group: str) -> Group | None:
        """One failure group, or None when it has no records."""
        found = self.described_groups([group])
        return found[0] if found else None

    def group_count(self) -> int:
        return int(self.client.zcard(self.key("groups")))

    def described_groups(self, groups: list[str]) -> list[Group]:
        """These groups, each with its count, first and last failure, and latest record."""
        with self.client.pipeline(transaction=False) as pipe:
            for group in groups:
                pipe.get(self.key("group", group))
                pipe.zcard(self.key("index", "group", group))
                pipe.zrevrange(self.key("index", "group", group), 0, 0)
                pipe.zrange(self.key("index", "group-first", group), 0, 0)
            answers = pipe.execute()
        per_group = [answers[place : place + 4] for place in range(0, len(answers), 4)]
        end_ids = [self.ids(latest) + self.ids(earliest) for _, _, latest, earliest in per_group]
        ends = {record.id: record for record in self.load([i for pair in end_ids for i in pair])}
        found = []
        for group, (description, count, _, _), pair in zip(groups, per_group, end_ids, strict=True):
            if description is None or len(pair) < 2 or not set(pair) <= ends.keys():
                continue  # emptied since the first read
            latest, earliest = ends[pair[0]], ends[pair[1]]
            found.append(
                Group(
                    id=group,
                    **json.loads(description),
                    count=int(count),
                    first_failed_at=earliest.first_failed_at,
                    last_failed_at=latest.last_failed_at,
                    sample_id=latest.id,
                )
            )
        return found

    def ungrouped(self) -> int:
        """How many records are in no failure group: written by a version of the service that
        kept no group indexes. O(groups)."""
        with self.client.pipeline() as pipe:  # one transaction: a consistent count
            pipe.zcard(self.key("index", "all"))
            pipe.zrange(self.key("groups"), 0, -1, withscores=True)
            total, counted = pipe.execute()
        return int(total) - int(sum(count for _, count in counted))

    def ensure_groups_indexed(self) -> int:
        """Index the groups of records written without group indexes (by an earlier version),
        when there are any; returns how many records it indexed (0: all were grouped)."""
        if not self.ungrouped():
            return 0
        indexed = 0
        for start in range(0, int(self.client.zcard(self.key("index", "all"))), DELETE_BATCH):
            members = self.client.zrange(self.key("index", "all"), start, start + DELETE_BATCH - 1)
            records = self.load(self.ids(members))
            with self.client.pipeline(transaction=False) as pipe:
                for record in records:
                    self.index_group(*self.group_keys_and_args(record), client=pipe)
                pipe.execute()
            indexed += len(records)
        return indexed

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
        self.index_group(*self.group_keys_and_args(record), client=pipe)

    def unindex(self, pipe: Pipeline, record: DeadLetter) -> None:
        for index in self.indexes(record):
            pipe.zrem(index, record.id)
        self.unindex_group(*self.group_keys_and_args(record), client=pipe)

    def group_keys_and_args(self, record: DeadLetter) -> tuple[list[str], list[str | float]]:
        """The keys and arguments of `INDEX_GROUP` and `UNINDEX_GROUP` for `record`."""
        group = group_id(record)
        description = {
            "task": record.task,
            "reason": record.reason,
            "exception_type": record.exception_type,
            "message": message_shape(record.exception_message),
        }
        keys = [
            self.key("index", "group", group),
            self.key("index", "group-first", group),
            self.key("groups"),
            self.key("group", group),
        ]
        last = parse_time(record.last_failed_at).timestamp()
        first = parse_time(record.first_failed_at).timestamp()
        return keys, [record.id, last, first, group, json.dumps(description)]

    def indexes(self, record: DeadLetter) -> tuple[str, ...]:
        return (
            self.key("index", "all"),
            self.key("index", "task", record.task),
            self.key("index", "reason", record.reason),
            self.key("index", "task-reason", record.task, record.reason),
        )

    def index_for(self, query: Query) -> str:
        if query.group:
            return self.key("index", "group", query.group)
        if query.task and query.reason:
            return self.key("index", "task-reason", query.task, query.reason)
        if query.task:
            return self.key("index", "task", query.task)
        if query.reason:
            return self.key("index", "reason", query.reason)
        return self.key("index", "all")

{%- if cookiecutter.broker == "redis" %}

    def count_redelivery(self, task_id: str, retries: int, replays: int) -> int:
        """Count one more redelivery of the message for this task id, retry and replay (a
        replay starts a count of its own); the count expires after a day."""
        key = self.key("redeliveries", task_id, str(retries), str(replays))
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
