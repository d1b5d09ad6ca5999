"""Queue and dead-letter store gauges, read at most once per interval per deployment.

Every replica serves the same broker and store figures, so reading them on every replica's
every scrape would multiply the load by the replica count. The first replica scraped after the
interval takes a short lock in the dead-letter store's Redis (`SET NX`), reads the broker and the
store, and caches the readings there for `METRICS_GAUGE_INTERVAL` seconds; the others serve the
cached readings. Aggregate these gauges across replicas with `max by (...)`, never `sum`.

A broker or store that can't be read doesn't fail the scrape: the readings that could be taken
are served, the failure is logged and counted in `celery_metrics_gauge_errors_total{source}`.
"""

import json
import logging
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import redis
from celery import Celery
from kombu import Connection
from kombu.exceptions import OperationalError
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..deadletter.record import REASONS
from ..deadletter.store import RedisDeadLetterStore
from ..topology import DEAD_LETTER_QUEUE, WORK_QUEUE

logger = logging.getLogger(__name__)

QUEUES = (WORK_QUEUE, DEAD_LETTER_QUEUE)
# How long a replica waits for another replica's readings before reading for itself.
WAIT_FOR_OTHER_SECONDS = 2.0
POLL_SECONDS = 0.1
BROKER_TIMEOUT_SECONDS = 3
STORE_ERRORS = (redis.RedisError, OSError)


@dataclass(frozen=True)
class Readings:
    """What the broker and the store said; a part that could not be read is None."""

    queue_lengths: dict[str, int] | None = None
    consumer_counts: dict[str, int] | None = None
    records_by_reason: dict[str, int] | None = None
    # Epoch seconds of the oldest record's last failure; None when the store is empty.
    oldest_failed_at: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Readings":
        return cls(**json.loads(text))


def read_queues(connection: Connection) -> tuple[dict[str, int], dict[str, int]]:
    """Ready messages and consumers per queue, from a passive declare (on Redis kombu counts the
    queue's priority lists too; an absent queue is empty)."""
    lengths, consumers = {}, {}
    connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    missing_queue: tuple[type[BaseException], ...] = connection.channel_errors
    for queue in QUEUES:
        channel: Any
        with connection.channel() as channel:
            try:
                declared = channel.queue_declare(queue=queue, passive=True)
            except missing_queue:
                lengths[queue], consumers[queue] = 0, 0
                continue
        lengths[queue] = int(declared.message_count)
        consumers[queue] = int(declared.consumer_count)
    return lengths, consumers


def read_store(store: RedisDeadLetterStore) -> tuple[dict[str, int], float | None]:
    """Records per reason, and the last failure time of the oldest record."""
    return store.counts()["by_reason"], store.oldest_failed_at()


class SharedReadings:
    """Readings shared by every replica through a cache in the store's Redis."""

    def __init__(self, app: Celery, store: RedisDeadLetterStore, interval: int) -> None:
        self.app = app
        self.store = store
        self.interval = interval
        self.cache_key = store.key("metrics", "gauges")
        self.lock_key = store.key("metrics", "gauges", "lock")
        # Failed reads by this process, per source (not multiprocess values: only the main
        # process reads, and it lives as long as the worker).
        self.errors: Counter[str] = Counter()

    def get(self) -> Readings:
        """The cached readings, or fresh ones taken by this replica if it wins the lock."""
        try:
            return self.cached_or_taken()
        except STORE_ERRORS as error:
            logger.warning("metrics: gauge cache unreachable, reading directly: %s", error)
            return self.read_now()

    def cached_or_taken(self) -> Readings:
        client = self.store.client
        if cached := client.get(self.cache_key):
            return Readings.from_json(str(cached))
        if client.set(self.lock_key, socket.gethostname(), nx=True, ex=self.interval):
            readings = self.read_now()
            client.set(self.cache_key, readings.to_json(), ex=self.interval)
            return readings
        deadline = time.monotonic() + WAIT_FOR_OTHER_SECONDS
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            if cached := client.get(self.cache_key):
                return Readings.from_json(str(cached))
        return self.read_now()

    def read_now(self) -> Readings:
        """Read the broker and the store now; what fails is left out, logged and counted."""
        readings: dict[str, Any] = {}
        with self.app.connection_for_read() as connection:
            broker_errors: tuple[type[BaseException], ...] = (
                OSError,
                OperationalError,
                *connection.connection_errors,
            )
            try:
                readings["queue_lengths"], readings["consumer_counts"] = read_queues(connection)
            except broker_errors as error:
                logger.warning("metrics: could not read queue lengths from the broker: %s", error)
                self.errors["broker"] += 1
        try:
            readings["records_by_reason"], readings["oldest_failed_at"] = read_store(self.store)
        except STORE_ERRORS as error:
            logger.warning("metrics: could not read the dead-letter store: %s", error)
            self.errors["store"] += 1
        return Readings(**readings)


class GaugeCollector:
    """A prometheus-client collector of the broker and store gauges."""

    def __init__(self, readings: SharedReadings) -> None:
        self.readings = readings

    def collect(self) -> Iterator[Metric]:
        readings = self.readings.get()
        yield from queue_gauges(readings)
        yield from store_gauges(readings, time.time())
        errors = CounterMetricFamily(
            "celery_metrics_gauge_errors",
            "Failed reads of the broker or the dead-letter store for the gauges",
            labels=["source"],
        )
        for source in ("broker", "store"):
            errors.add_metric([source], self.readings.errors[source])
        yield errors


def queue_gauges(readings: Readings) -> Iterator[Metric]:
    if readings.queue_lengths is None:
        return
    lengths = GaugeMetricFamily(
        "celery_queue_length", "Ready messages in the queue", labels=["queue_name"]
    )
    for queue, length in readings.queue_lengths.items():
        lengths.add_metric([queue], length)
    yield lengths
{%- if cookiecutter.broker == "rabbitmq" %}
    consumers = GaugeMetricFamily(
        "celery_active_consumer_count", "Consumers on the queue", labels=["queue_name"]
    )
    for queue, count in (readings.consumer_counts or {}).items():
        consumers.add_metric([queue], count)
    yield consumers
{%- endif %}


def store_gauges(readings: Readings, now: float) -> Iterator[Metric]:
    if readings.records_by_reason is None:
        return
    records = GaugeMetricFamily(
        "celery_dead_letter_records", "Records in the dead-letter store", labels=["reason"]
    )
    for reason in REASONS:
        records.add_metric([reason], readings.records_by_reason.get(reason, 0))
    yield records
    oldest = readings.oldest_failed_at
    yield GaugeMetricFamily(
        "celery_dead_letter_oldest_age_seconds",
        "Age of the oldest record in the dead-letter store (0 when it is empty)",
        value=0.0 if oldest is None else max(0.0, now - oldest),
    )
