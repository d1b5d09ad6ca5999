"""Unit tests run eagerly, in process: no broker, only Redis for idempotency keys."""

from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.deadletter.handoff import use_sink
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter
from {{ cookiecutter.package_name }}.settings import get_settings


class MemorySink:
    """Keeps dead letters in a list, for assertions."""

    def __init__(self) -> None:
        self.records: list[DeadLetter] = []

    def record(self, dead_letter: DeadLetter) -> None:
        self.records.append(dead_letter)


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Each test reads the environment afresh (tests change it with monkeypatch)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def dead_letters() -> Iterator[MemorySink]:
    sink = MemorySink()
    previous = use_sink(sink)
    yield sink
    use_sink(previous)
