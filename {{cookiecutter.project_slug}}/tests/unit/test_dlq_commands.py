"""The `dlq` commands' parsing and formatting, without a store."""

from datetime import UTC, datetime, timedelta

import click
import pytest

from {{ cookiecutter.package_name }}.deadletter.commands import parse_since, table

from ..records import a_dead_letter


def test_since_takes_durations_and_iso_times() -> None:
    assert parse_since(None) is None
    twelve_hours_ago = datetime.now(UTC) - timedelta(hours=12)
    parsed = parse_since("12h")
    assert parsed is not None
    assert abs((parsed - twelve_hours_ago).total_seconds()) < 5
    assert parse_since("2026-01-02T03:04:05") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_since_refuses_anything_else() -> None:
    with pytest.raises(click.BadParameter, match="neither an ISO time nor like 30m"):
        parse_since("yesterday")


def test_table_aligns_columns_under_a_header() -> None:
    record = a_dead_letter(
        id="abc",
        task="svc.tasks.long_task_name",
        exception_type="",
        exception_message="",
        first_failed_at="2026-01-01T00:00:00+00:00",
        last_failed_at="2026-01-01T00:00:00+00:00",
        hostname="host",
    )
    header, row = table([record]).splitlines()
    assert header.index("TASK") == row.index("svc.tasks.long_task_name")
    assert header.index("REASON") == row.index("exhausted")
