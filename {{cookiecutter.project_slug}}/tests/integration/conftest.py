"""Integration tests run against the real broker named by CELERY_BROKER_URL, with real workers.

They own that broker's work queue: point CELERY_BROKER_URL at a test vhost or database.
A missing broker fails these tests; deselect them explicitly with `-m "not integration"`.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from kombu import Connection
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.settings import get_settings
from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_QUEUE, WORK_QUEUE

from . import faulty_tasks
{%- if cookiecutter.examples == "yes" %}
from .http_stub import HttpStub
{%- endif %}
from .relay import TcpRelay
from .workers import WorkerProcess, running, spawn_worker
{% if cookiecutter.broker == "rabbitmq" %}
START_A_BROKER = "rabbitmq-server -detached, or a rabbitmq container on port 5672"
{%- else %}
START_A_BROKER = "redis-server --daemonize yes, or a redis container on port 6379"
{%- endif %}
# Workers seal dead letters' original arguments with this key (deadletter/originals.py); the
# tests replay in this process, which reads the same key.
os.environ.setdefault("DEAD_LETTER_ENCRYPTION_KEYS", Fernet.generate_key().decode())
get_settings.cache_clear()  # importing the app read the settings without it
# The session's workers log as deployed workers do; test_logs reads every line they wrote.
JSON_LOGS = {"LOG_FORMAT": "json"}


@pytest.fixture(scope="session")
def broker() -> Iterator[Connection]:
    """A connection to the broker, failing with instructions when there is none."""
    with app.connection_for_write() as connection:
        try:
            connection.ensure_connection(max_retries=2, interval_start=1, timeout=3)
        except (OSError, OperationalError) as error:
            pytest.fail(
                f"no broker answers at {maybe_sanitize_url(app.conf.broker_url)} ({error}). "
                f"Start one ({START_A_BROKER}), set CELERY_BROKER_URL, or deselect these tests "
                "with -m 'not integration'.",
                pytrace=False,
            )
        yield connection


@pytest.fixture(scope="session")
def worker_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker-logs")


{% if cookiecutter.examples == "yes" -%}
@pytest.fixture(scope="session")
def http_stub() -> Iterator[HttpStub]:
    """The downstream APIs the example tasks call, played by a scripted local server."""
    with HttpStub() as stub:
        yield stub


{% endif -%}
@pytest.fixture(scope="session")
def store_relay() -> Iterator[TcpRelay]:
    """The session's workers reach the dead-letter store through this relay, so a test can take
    the store away from them (and only from them)."""
    relay = TcpRelay(get_settings().dead_letter_redis_url.get_secret_value())
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture(scope="session")
{%- if cookiecutter.examples == "yes" %}
def worker(
    broker: Connection, worker_logs: Path, http_stub: HttpStub, store_relay: TcpRelay
) -> Iterator[WorkerProcess]:
{%- else %}
def worker(broker: Connection, worker_logs: Path, store_relay: TcpRelay) -> Iterator[WorkerProcess]:
{%- endif %}
    """One main worker for the session, started on an empty work queue.

    Its dead-letter store is behind `store_relay`, its transient backoff is 1 s capped at 2 s,
    so retries finish within seconds{% if cookiecutter.examples == "yes" %}, and the example tasks call the HTTP stub{% endif %}.
    """
    with broker.channel() as channel:
        work_queue = app.amqp.queues[WORK_QUEUE].bind(channel)
        work_queue.declare()
        work_queue.purge()
{%- if cookiecutter.examples == "yes" %}
    downstream = {
        name: http_stub.url for name in ("PROFILE_API_URL", "CRM_API_URL", "PAYMENT_GATEWAY_URL")
    }
{%- endif %}
    fast_retries = {
        "RETRY_TRANSIENT_BACKOFF_BASE": "1",
        "RETRY_TRANSIENT_BACKOFF_CAP": "2",
        "RETRY_TRANSIENT_MAX_RETRIES": "2",
    }
    store = {"DEAD_LETTER_REDIS_URL": store_relay.url}
    main_worker = spawn_worker(
        worker_logs,
        f"--include={faulty_tasks.MODULE}",
{%- if cookiecutter.examples == "yes" %}
        env={**downstream, **fast_retries, **store, **JSON_LOGS},
{%- else %}
        env={**fast_retries, **store, **JSON_LOGS},
{%- endif %}
    )
    with running(main_worker):
        yield main_worker


@pytest.fixture(scope="session")
def dead_letter_worker(
    broker: Connection, worker_logs: Path, store_relay: TcpRelay
) -> Iterator[WorkerProcess]:
    """The dedicated dead-letter worker, started with the guide's command; it knows the same
    tasks as the main worker, so it can tell an unknown task from a rejected one."""
    dead_letter_worker = spawn_worker(
        worker_logs,
        f"--queues={DEAD_LETTER_QUEUE}",
        f"--include={faulty_tasks.MODULE}",
        env={"DEAD_LETTER_REDIS_URL": store_relay.url, **JSON_LOGS},
    )
    with running(dead_letter_worker):
        yield dead_letter_worker
