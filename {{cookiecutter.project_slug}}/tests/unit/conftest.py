"""Unit tests run eagerly, in process: no broker, only Redis for idempotency keys."""

import uuid
from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.deadletter.handoff import use_sink
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.redis_client import redis_client
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
def private_store() -> Iterator[RedisDeadLetterStore]:
    """A dead-letter store on DEAD_LETTER_REDIS_URL under a prefix of its own, deleted
    afterwards."""
    store = RedisDeadLetterStore(
        redis_client(get_settings().dead_letter_redis_url), prefix=f"test-{uuid.uuid4().hex}"
    )
    yield store
    if keys := store.client.keys(f"{store.prefix}:*"):
        store.client.delete(*keys)


@pytest.fixture
def dead_letters() -> Iterator[MemorySink]:
    sink = MemorySink()
    previous = use_sink(sink)
    yield sink
    use_sink(previous)
