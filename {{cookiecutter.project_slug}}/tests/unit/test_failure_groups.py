"""Failure groups: records that failed the same way fall in one group, whatever ids they hold."""

from dataclasses import replace
from typing import Any

from {{ cookiecutter.package_name }}.deadletter.groups import group_id, group_records, message_shape
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter
from {{ cookiecutter.package_name }}.deadletter.store import Query

from ..records import a_dead_letter

BASE = a_dead_letter(
    task="tasks.sync",
    exception_message="HTTP 503 for /records/17",
    retries=2,
    hostname="h",
)


def failed(record_id: str, at: str, **changes: Any) -> DeadLetter:
    return replace(BASE, id=record_id, first_failed_at=at, last_failed_at=at, **changes)


def test_message_shape_strips_numbers_uuids_and_hex_ids() -> None:
    message = "order 42 (3f2a9c1d-8b7e-4c6d-9e0f-1a2b3c4d5e6f) hash deadbeef01 took 1.5 s"
    assert message_shape(message) == "order <n> (<id>) hash <id> took <n> s"
    assert message_shape("card declined by acquirer") == "card declined by acquirer"


def test_records_differing_only_in_ids_share_a_group() -> None:
    same = failed("r-2", BASE.last_failed_at, exception_message="HTTP 503 for /records/18")
    assert group_id(same) == group_id(BASE)
    for other in (
        replace(BASE, exception_message="connection refused for /records/17"),
        replace(BASE, exception_type="builtins.TimeoutError"),
        replace(BASE, reason="non_retryable"),
        replace(BASE, task="tasks.charge"),
    ):
        assert group_id(other) != group_id(BASE)


def test_groups_count_and_span_their_records_largest_first() -> None:
    records = [
        failed("a-1", "2026-01-01T10:00:00+00:00"),
        failed("a-2", "2026-01-01T12:00:00+00:00", exception_message="HTTP 503 for /records/9"),
        failed("a-3", "2026-01-01T11:00:00+00:00"),
        failed("b-1", "2026-01-01T09:00:00+00:00", exception_type="builtins.TimeoutError"),
    ]
    first, second = group_records(records)
    assert (first.count, second.count) == (3, 1)
    assert (first.first_failed_at, first.last_failed_at) == (
        "2026-01-01T10:00:00+00:00",
        "2026-01-01T12:00:00+00:00",
    )
    assert (first.sample_id, first.message) == ("a-2", "HTTP <n> for /records/<n>")
    assert second.id == group_id(records[3])


def test_query_matches_by_group_and_by_exception_name() -> None:
    other = replace(BASE, exception_type="builtins.TimeoutError")
    assert Query(group=group_id(BASE)).matches(BASE)
    assert not Query(group=group_id(BASE)).matches(other)
    assert Query(exception="ConnectionError").matches(BASE)
    assert Query(exception="builtins.ConnectionError").matches(BASE)
    assert not Query(exception="Error").matches(BASE)
