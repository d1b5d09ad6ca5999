"""The onboarding examples fail the way their tiers say, run eagerly."""

import uuid
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.clients import CardDeclined
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


def payment_id() -> str:
    """A payment id of this test run alone: idempotency keys outlive the run."""
    return f"p-{uuid.uuid4().hex}"


def test_declined_card_runs_once_and_is_dead_lettered_as_non_retryable(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink
) -> None:
    gateway = Scripted(CardDeclined("insufficient funds"))
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.charge", gateway)
    assert charge_card.apply(args=[payment_id()]).failed()
    assert gateway.calls == 1
    assert [record.reason for record in dead_letters.records] == ["non_retryable"]


def test_rate_limited_charge_is_retried_then_succeeds(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink
) -> None:
    gateway = Scripted(RateLimited("slow down", retry_after=3), RateLimited("slow down"))
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.charge", gateway)
    assert charge_card.apply(args=[payment_id()]).get() == {"status": "ok"}
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


def test_webhook_recovers_from_transient_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = Scripted(ConnectionError("reset"), TimeoutError("slow"))
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.post_webhook", endpoint)
    deliver_webhook.apply(args=["http://subscriber.test/hook", {"event": "paid"}]).get()
    assert endpoint.calls == 3


def test_a_payment_charged_twice_reaches_the_gateway_once(monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = Scripted()
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.charge", gateway)
    payment = payment_id()
    first = charge_card.apply(args=[payment]).get()
    second = charge_card.apply(args=[payment]).get()
    assert gateway.calls == 1
    assert first == second == {"status": "ok"}


def test_a_webhook_task_run_twice_is_delivered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = Scripted()
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.post_webhook", endpoint)
    task_id = f"w-{uuid.uuid4().hex}"
    for _ in range(2):
        deliver_webhook.apply(args=["http://subscriber.test/hook", {}], task_id=task_id).get()
    assert endpoint.calls == 1
