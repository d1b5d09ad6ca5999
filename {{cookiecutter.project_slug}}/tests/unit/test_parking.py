"""Which messages wait in Redis rather than in a worker, and until when."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.parking import HOLD_AT_MOST, due_at, parked_entry, should_park
from {{ cookiecutter.package_name }}.redis_transport import TRANSPORT

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def message(eta: datetime | str | None) -> dict[str, Any]:
    headers = {"id": "t-1", "task": "x"}
    if eta is not None:
        headers["eta"] = eta if isinstance(eta, str) else eta.isoformat()
    return {"body": "e30=", "headers": headers, "properties": {"priority": 0}}


def test_a_message_without_eta_goes_to_its_queue() -> None:
    assert due_at(message(None)) is None
    assert should_park(message(None), NOW.timestamp()) is None


def test_a_countdown_due_later_than_the_hold_limit_is_parked_until_due() -> None:
    later = NOW + timedelta(seconds=60)
    assert should_park(message(later), NOW.timestamp()) == later.timestamp()


def test_a_short_countdown_waits_in_the_worker_as_before() -> None:
    soon = NOW + timedelta(seconds=HOLD_AT_MOST)
    assert should_park(message(soon), NOW.timestamp()) is None
    assert should_park(message(NOW - timedelta(seconds=5)), NOW.timestamp()) is None


def test_a_naive_eta_is_read_as_utc() -> None:
    assert due_at(message("2026-01-01T12:01:00")) == (NOW + timedelta(minutes=1)).timestamp()


def test_a_message_whose_eta_is_not_iso_8601_goes_to_its_queue() -> None:
    assert should_park(message("in a minute"), NOW.timestamp()) is None


def test_the_parked_entry_keeps_target_and_payload_verbatim() -> None:
    payload = json.dumps(message(NOW))
    assert json.loads(parked_entry("work\x06\x163", payload)) == ["work\x06\x163", payload]


def test_the_service_publishes_through_the_parking_transport() -> None:
    assert app.conf.broker_transport == TRANSPORT
    with app.connection_for_write() as connection:
        assert connection.transport_cls == TRANSPORT
