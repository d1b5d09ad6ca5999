"""The retry guide's Verification section, as tests."""

from collections.abc import Callable

import pytest

from {{ cookiecutter.package_name }}.retry import Contended
from {{ cookiecutter.package_name }}.tasks import sync_to_crm

from .conftest import MemorySink


def always_raises(error: type[Exception]) -> Callable[..., None]:
    def fail(*args: object, **kwargs: object) -> None:
        raise error("CRM unreachable")

    return fail


def test_sync_to_crm_reports_the_guides_policy() -> None:
    assert sync_to_crm.max_retries == 8
    assert sync_to_crm.retry_backoff == 2
    assert sync_to_crm.retry_jitter is True
    assert sync_to_crm.autoretry_for == (ConnectionError, TimeoutError, Contended)


def test_exhausted_task_is_quarantined(
    monkeypatch: pytest.MonkeyPatch, dead_letters: MemorySink
) -> None:
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tasks.examples.call", always_raises(ConnectionError))
    result = sync_to_crm.apply(args=[42])  # runs eagerly through all retries
    assert result.failed()
    [record] = dead_letters.records
    assert record.task == "{{ cookiecutter.package_name }}.tasks.examples.sync_to_crm"
    assert record.reason == "exhausted"
    assert record.retries == 8
    assert record.args == [42]
    assert record.exception_type == "builtins.ConnectionError"
    assert record.exception_message == "CRM unreachable"
    assert "ConnectionError" in record.traceback
