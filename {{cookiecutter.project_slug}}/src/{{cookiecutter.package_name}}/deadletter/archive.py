"""Turn a message from the `dead_letter` queue into a dead-letter record, without running it.

Two kinds of message arrive there:
- a raw task message dead-lettered by RabbitMQ (its `x-death` header says why and from where);
- a record published by the application because the store was unreachable when the task failed.
"""

from collections.abc import Container
from datetime import UTC, datetime
from typing import Any

from kombu.exceptions import ContentDisallowed, DecodeError
from kombu.message import Message

from ..metrics.dead_letters import count_dead_letter
from .record import DeadLetter, Reason, failure_record, now
from .replay import REPLAYS_HEADER
from .store import DeadLetterStore
from .transport import is_record_message

# RabbitMQ's reasons that end a task; `expired` hops come from native delayed delivery.
BROKER_REASONS = ("delivery_limit", "rejected")


def death(headers: dict[str, Any]) -> dict[str, Any]:
    """The `x-death` entry that dead-lettered the message (the newest terminal one)."""
    for entry in headers.get("x-death") or ():
        if entry.get("reason") in BROKER_REASONS:
            return dict(entry)
    return {}


def reason_for(headers: dict[str, Any], registered: Container[str]) -> Reason:
    if death(headers).get("reason") == "delivery_limit":
        return "delivery_limit"
    if headers.get("task") not in registered:
        return "unknown_task"
    return "rejected"


def failed_at(entry: dict[str, Any]) -> str:
    when = entry.get("time")
    if not isinstance(when, datetime):
        return now()
    # AMQP timestamps carry no zone; RabbitMQ writes them in UTC.
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def record_from_task_message(
    message: Message, registered: Container[str], reason: Reason | None = None
) -> DeadLetter:
    """A record for a raw task message, from its headers, body and `x-death`; the reason is
    worked out from those unless given."""
    headers = dict(message.headers or {})
    entry = death(headers)
    reason = reason or reason_for(headers, registered)
    try:
        args, kwargs, _options = message.decode()
    except (DecodeError, ContentDisallowed, ValueError, TypeError) as error:
        args, kwargs, reason = [], {}, "malformed"
        detail = f"undecodable body: {error}"
    else:
        detail = f"{reason}: {entry.get('reason') or 'refused by the worker'}"
    return failure_record(
        task_id=str(headers.get("id") or ""),
        task=str(headers.get("task") or ""),
        args=args,
        kwargs=kwargs,
        reason=reason,
        error=detail,
        traceback="",
        retries=int(headers.get("retries") or 0),
        queue=str(entry.get("queue") or message.delivery_info.get("routing_key") or ""),
        hostname=str(headers.get("origin") or ""),
        failed_at=failed_at(entry),
    )


def failed_before_latest_replay(replays: int, existing: DeadLetter) -> bool:
    """Whether a failure of the task's `replays`-th run (0: the original) predates the stored
    record's latest replay, which is then still under way or already recorded."""
    return existing.status == "replayed" and replays < existing.replays


def archive(message: Message, store: DeadLetterStore, registered: Container[str]) -> DeadLetter:
    """Write the message's record to `store` unless the failing task already did, or the
    message failed before the record's latest replay (a dead-letter worker that fell behind must
    not mark a replay that is under way as dead again).

    A record is counted in the metrics when it becomes dead here: not when the store already held
    it as dead (the failing task recorded it first).

    Raises whatever the store raises, leaving the message to be archived again later.
    """
    if is_record_message(message.headers):
        record = DeadLetter.from_dict(message.decode())
        existing = store.get(record.id)
        if existing is not None and failed_before_latest_replay(record.replays, existing):
            return existing
    else:
        record = record_from_task_message(message, registered)
        existing = store.get(record.id)
        replays = int((message.headers or {}).get(REPLAYS_HEADER) or 0)
        if existing is not None and (
            existing.status == "dead" or failed_before_latest_replay(replays, existing)
        ):
            return existing
    saved = store.save(record)
    if existing is None or existing.status != "dead":
        count_dead_letter(saved)
    return saved
