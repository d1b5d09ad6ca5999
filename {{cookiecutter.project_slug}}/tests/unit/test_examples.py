"""The onboarding examples fail the way their tiers say, run eagerly."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.clients import CardDeclined
from {{ cookiecutter.package_name }}.idempotency import KEY_PREFIX, idempotency_keys
from {{ cookiecutter.package_name }}.retry import RateLimited
from {{ cookiecutter.package_name }}.tasks import charge_card, deliver_webhook, fetch_profile

from .conftest import MemorySink


class Scripted:
    """Stands in for an HTTP call: raises each scripted error in turn, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, str]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"status": "ok"}


def unique_key(kind: str) -> Iterator[str]:
    """An id of this test alone; the idempotency key the task takes for it is deleted after."""
    unique_id = f"{kind}-{uuid.uuid4().hex}"
    yield unique_id
    idempotency_keys().client.delete(f"{KEY_PREFIX}{kind}:{unique_id}")


@pytest.fixture
def payment_id() -> Iterator[str]:
    yield from unique_key("charge")


@pytest.fixture
def webhook_task_id() -> Iterator[str]:
    yield from unique_key("webhook")


def test_declined_card_runs_once_and_is_dead_lettered_as_non_retryable(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink, payment_id: str
) -> None:
    gateway = Scripted(CardDeclined("insufficient funds"))
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.charge", gateway)
    assert charge_card.apply(args=[payment_id]).failed()
    assert gateway.calls == 1
    assert [record.reason for record in dead_letters.records] == ["non_retryable"]


def test_rate_limited_charge_is_retried_then_succeeds(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink, payment_id: str
) -> None:
    gateway = Scripted(RateLimited("slow down", retry_after=3), RateLimited("slow down"))
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.charge", gateway)
    assert charge_card.apply(args=[payment_id]).get() == {"status": "ok"}
    assert gateway.calls == 3
    assert dead_letters.records == []


def test_a_bad_payload_is_not_retried(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink
) -> None:
    api = Scripted(ValueError("not JSON"))
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.call", api)
    assert fetch_profile.apply(args=[7]).failed()
    assert api.calls == 1
    assert [record.reason for record in dead_letters.records] == ["non_retryable"]


def test_webhook_recovers_from_transient_errors(
    monkeypatch: pytest.MonkeyPatch, webhook_task_id: str
) -> None:
    endpoint = Scripted(ConnectionError("reset"), TimeoutError("slow"))
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.post_webhook", endpoint)
    hook = ["http://subscriber.test/hook", {"event": "paid"}]
    deliver_webhook.apply(args=hook, task_id=webhook_task_id).get()
    assert endpoint.calls == 3


def test_a_payment_charged_twice_reaches_the_gateway_once(
    monkeypatch: pytest.MonkeyPatch, payment_id: str
) -> None:
    gateway = Scripted()
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.charge", gateway)
    first = charge_card.apply(args=[payment_id]).get()
    second = charge_card.apply(args=[payment_id]).get()
    assert gateway.calls == 1
    assert first == second == {"status": "ok"}


def test_a_webhook_task_run_twice_is_delivered_once(
    monkeypatch: pytest.MonkeyPatch, webhook_task_id: str
) -> None:
    endpoint = Scripted()
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.post_webhook", endpoint)
    for _ in range(2):
        deliver_webhook.apply(args=["http://subscriber.test/hook", {}], task_id=webhook_task_id)
    assert endpoint.calls == 1
