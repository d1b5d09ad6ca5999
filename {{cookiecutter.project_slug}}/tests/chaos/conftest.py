"""Chaos tests: workers SIGKILLed and SIGTERMed and the broker restarted while tasks run.

They are integration tests that run only when asked for, with `pytest -m chaos` (plain `pytest`
and `pytest -m integration` leave them out), because they
{%- if cookiecutter.broker == "rabbitmq" %}
restart the RabbitMQ node at CELERY_BROKER_URL: run them against a development broker only.
{%- else %}
start, stop and restart a `redis-server` of their own (it must be on PATH).
{%- endif %}
Their workers use short time limits and retry waits, so every recovery fits in seconds.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_QUEUE

from ..integration.workers import WorkerProcess, spawn_worker
from . import ledger
from .broker import RestartableBroker
from .ledger import Kind, Ledger

# The one time bound (CELERY_TASK_TIME_LIMIT) of the chaos workers: it also sets how long a
# killed effect's idempotency key stays held (5 s more).
TIME_LIMIT = 10


def report(figure: str) -> None:
    """Print a measured figure on a line of its own (shown with `pytest -s`)."""
    print(f"\nchaos: {figure}")


@pytest.fixture(scope="session")
def chaos_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableBroker]:
{%- if cookiecutter.broker == "rabbitmq" %}
    broker = RestartableBroker()
{%- else %}
    broker = RestartableBroker(tmp_path_factory.mktemp("redis-broker"))
{%- endif %}
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def chaos_settings(chaos_broker: RestartableBroker) -> dict[str, str]:
    """The chaos workers' environment: the restartable broker, and retry waits short enough that
    every retry happens within seconds.{% if cookiecutter.broker == "redis" %} The visibility timeout keeps its default: a killed
    worker's messages must come back through dead-worker recovery, not through that timeout.{% endif %}"""
    return {
        "CELERY_BROKER_URL": chaos_broker.url,
        "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT),
        "RETRY_TRANSIENT_BACKOFF_BASE": "1",
        "RETRY_TRANSIENT_BACKOFF_CAP": "4",
        "RETRY_TRANSIENT_MAX_RETRIES": "6",
        "RETRY_RATE_LIMITED_RETRY_AFTER_CAP": "4",
    }


class Workers:
    """Chaos workers started by one test; all of them are stopped when it ends."""

    def __init__(self, log_dir: Path, settings: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.settings = settings
        self.started: list[WorkerProcess] = []

    def start(self, *worker_args: str) -> WorkerProcess:
        """A worker with the ledger's task, once it is ready."""
        worker = spawn_worker(
            self.log_dir, f"--include={ledger.MODULE}", *worker_args, env=self.settings
        )
        self.started.append(worker)
        worker.wait_until_ready()
        return worker

    def start_dead_letter_worker(self) -> WorkerProcess:
        return self.start(f"--queues={DEAD_LETTER_QUEUE}")

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


@pytest.fixture
def workers(
    chaos_settings: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workers]:
    started = Workers(tmp_path_factory.mktemp("chaos-workers"), chaos_settings)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def the_ledger() -> Iterator[Ledger]:
    kept = Ledger(uuid.uuid4().hex[:12])
    yield kept
    kept.clear()


class Publisher:
    """Publishes ledger entries to the restartable broker, as the service's callers would."""

    def __init__(self, connection: Connection, kept: Ledger) -> None:
        self.connection = connection
        self.ledger = kept

    def publish(
        self,
        entry_id: str,
        kind: Kind = "ok",
        work_seconds: float = 0.0,
        countdown: float | None = None,
    ) -> None:
        """Send one entry, under its own id as task id; raises if the broker doesn't confirm it."""
        ledger.record_entry.apply_async(
            (self.ledger.name, entry_id, kind, work_seconds),
            task_id=entry_id,
            countdown=countdown,
            connection=self.connection,
        )


@pytest.fixture
def publisher(chaos_broker: RestartableBroker, the_ledger: Ledger) -> Iterator[Publisher]:
    with app.connection_for_write(chaos_broker.url) as connection:
        yield Publisher(connection, the_ledger)
