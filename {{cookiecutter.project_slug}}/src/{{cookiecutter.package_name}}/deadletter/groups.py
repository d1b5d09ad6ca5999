"""Failure groups: dead letters that failed the same way, so an incident is one line, not a page.

Records fall in one group when they share the task, the reason, the exception type and the
exception message once the parts that differ per call are stripped from it: UUIDs and other long
hexadecimal ids become `<id>`, numbers `<n>`, so `HTTP 503 for /records/17` and `HTTP 502 for
/records/18` are one group (`HTTP <n> for /records/<n>`). A group's id is a short hash of those four
parts, stable across runs and machines, so `dlq groups` output can be pasted into
`--group` of any other command.
"""

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .record import DeadLetter, Reason, parse_time

UUID = re.compile(r"\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b", re.IGNORECASE)
# Hexadecimal runs of 8 or more holding at least one digit: hashes, object ids, tokens.
HEX_ID = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.IGNORECASE)
NUMBER = re.compile(r"\d+(?:\.\d+)?")
GROUP_ID_LENGTH = 10


def message_shape(message: str) -> str:
    """`message` with ids and numbers replaced by placeholders."""
    return NUMBER.sub("<n>", HEX_ID.sub("<id>", UUID.sub("<id>", message)))


def group_id(record: DeadLetter) -> str:
    """The id of the group `record` falls in."""
    shape = message_shape(record.exception_message)
    parts = (record.task, record.reason, record.exception_type, shape)
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return digest[:GROUP_ID_LENGTH]


def raised(record: DeadLetter, exception: str) -> bool:
    """Whether `record` failed with `exception`: its full dotted name or just the class name."""
    full = record.exception_type
    return exception in (full, full.rpartition(".")[2])


@dataclass(frozen=True)
class Group:
    """Records that failed the same way: how many, when, and one of them to look at."""

    id: str
    task: str
    reason: Reason
    exception_type: str
    message: str
    count: int
    first_failed_at: str
    last_failed_at: str
    sample_id: str


def group_records(records: Iterable[DeadLetter]) -> list[Group]:
    """The groups of `records`, largest first; a group's sample is its latest failure."""
    groups: dict[str, Group] = {}
    for record in records:
        key = group_id(record)
        seen = groups.get(key)
        if seen is None:
            groups[key] = Group(
                id=key,
                task=record.task,
                reason=record.reason,
                exception_type=record.exception_type,
                message=message_shape(record.exception_message),
                count=1,
                first_failed_at=record.first_failed_at,
                last_failed_at=record.last_failed_at,
                sample_id=record.id,
            )
            continue
        latest = parse_time(record.last_failed_at) > parse_time(seen.last_failed_at)
        earliest = parse_time(record.first_failed_at) < parse_time(seen.first_failed_at)
        groups[key] = replace(
            seen,
            count=seen.count + 1,
            first_failed_at=record.first_failed_at if earliest else seen.first_failed_at,
            last_failed_at=record.last_failed_at if latest else seen.last_failed_at,
            sample_id=record.id if latest else seen.sample_id,
        )
    return sorted(groups.values(), key=lambda group: (-group.count, group.id))
