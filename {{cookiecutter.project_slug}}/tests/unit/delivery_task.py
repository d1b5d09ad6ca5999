"""A business task for the unit tests of the task bases, their logs and their metrics, so those
tests hold whether or not the service was generated with the example tasks.

It runs eagerly (`apply`); its downstream call succeeds unless a test calls `deliveries_fail`.
"""

from typing import Any

import pytest
from celery import Task

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.retry import TRANSIENT
from {{ cookiecutter.package_name }}.tasks.base import DLQTask


def send(endpoint: str, payload: dict[str, Any]) -> None:
    """The downstream call, which accepts everything until a test replaces it."""


def deliveries_fail(monkeypatch: pytest.MonkeyPatch, error: type[Exception], message: str) -> None:
    """Every downstream call of `deliver`, for the rest of the test, raises `error(message)`."""

    def failing(endpoint: str, payload: dict[str, Any]) -> None:
        raise error(message)

    monkeypatch.setattr(f"{__name__}.send", failing)


@app.task(bind=True, base=DLQTask, shared=False, **TRANSIENT.task_options())
def deliver(self: Task, endpoint: str, payload: dict[str, Any]) -> None:  # type: ignore[type-arg]
    """Send `payload` to `endpoint`; the transient tier retries a `ConnectionError`."""
    send(endpoint, payload)
