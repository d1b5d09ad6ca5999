"""Broker and store gauges are read once per interval per deployment, whatever the replicas."""

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.metrics.gauges import Readings, SharedReadings


class CountingReadings(SharedReadings):
    """A replica whose reads of the broker and store are counted instead of made."""

    reads = 0

    def read_now(self) -> Readings:
        CountingReadings.reads += 1
        return Readings(queue_lengths={"default": CountingReadings.reads})


def test_replicas_share_one_read_per_interval(private_store: RedisDeadLetterStore) -> None:
    CountingReadings.reads = 0
    replicas = [CountingReadings(app, private_store, interval=60) for _ in range(3)]
    served = [replica.get() for replica in replicas for _ in range(2)]
    assert CountingReadings.reads == 1
    assert {tuple((r.queue_lengths or {}).items()) for r in served} == {(("default", 1),)}


def test_readings_survive_the_cache() -> None:
    readings = Readings({"default": 3}, {"default": 2}, {"exhausted": 1}, 1700000000.5)
    assert Readings.from_json(readings.to_json()) == readings
