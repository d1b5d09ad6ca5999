"""Broker and store gauges are read once per interval per deployment, whatever the replicas."""

import uuid
from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.metrics.gauges import Readings, SharedReadings
from {{ cookiecutter.package_name }}.redis_client import redis_client
from {{ cookiecutter.package_name }}.settings import get_settings


class CountingReadings(SharedReadings):
    """A replica whose reads of the broker and store are counted instead of made."""

    reads = 0

    def read_now(self) -> Readings:
        CountingReadings.reads += 1
        return Readings(queue_lengths={"default": CountingReadings.reads})


@pytest.fixture
def private_store() -> Iterator[RedisDeadLetterStore]:
    """A store under a prefix of its own, deleted afterwards."""
    store = RedisDeadLetterStore(
        redis_client(get_settings().dead_letter_redis_url), prefix=f"test-{uuid.uuid4().hex}"
    )
    yield store
    if keys := store.client.keys(f"{store.prefix}:*"):
        store.client.delete(*keys)


def test_replicas_share_one_read_per_interval(private_store: RedisDeadLetterStore) -> None:
    CountingReadings.reads = 0
    replicas = [CountingReadings(app, private_store, interval=60) for _ in range(3)]
    served = [replica.get() for replica in replicas for _ in range(2)]
    assert CountingReadings.reads == 1
    assert {tuple((r.queue_lengths or {}).items()) for r in served} == {(("default", 1),)}


def test_readings_survive_the_cache() -> None:
    readings = Readings({"default": 3}, {"default": 2}, {"exhausted": 1}, 1700000000.5)
    assert Readings.from_json(readings.to_json()) == readings
