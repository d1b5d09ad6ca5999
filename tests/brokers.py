"""The machine's real brokers, with a RabbitMQ vhost and a Redis database per project run.

Each generated project's tests get a fresh, empty place on the broker it was generated for, so
one project's leftovers can never reach another project's worker.
"""

import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

HOST = "127.0.0.1"
RABBITMQ_PORT = 5672
REDIS_PORT = 6379
# A database the template's tests own and wipe; the service defaults use 0 and 1.
REDIS_TEST_DB = 13

START_COMMANDS = {
    RABBITMQ_PORT: "rabbitmq-server -detached",
    REDIS_PORT: (
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
    ),
}


def require_listening(port: int) -> None:
    """Fail, saying how to start it, unless a broker accepts connections on `port`."""
    try:
        socket.create_connection((HOST, port), timeout=3).close()
    except OSError as error:
        pytest.fail(
            f"nothing answers on {HOST}:{port} ({error}); start it with: {START_COMMANDS[port]}",
            pytrace=False,
        )


def rabbitmqctl(*arguments: str, check: bool = True) -> None:
    executable = shutil.which("rabbitmqctl")
    if executable is None:
        pytest.fail("rabbitmqctl is needed to give each project its own vhost", pytrace=False)
    subprocess.run([executable, "-q", *arguments], check=check, capture_output=True, timeout=60)


@contextmanager
def rabbitmq_vhost(name: str) -> Iterator[str]:
    """A new, empty vhost that guest may use; deleted afterwards. Yields its AMQP URL."""
    require_listening(RABBITMQ_PORT)
    rabbitmqctl("delete_vhost", name, check=False)  # left over from an interrupted run
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{HOST}:{RABBITMQ_PORT}/{name}"
    finally:
        rabbitmqctl("delete_vhost", name)


@contextmanager
def redis_database() -> Iterator[str]:
    """The test database, emptied before and after use. Yields its URL."""
    require_listening(REDIS_PORT)
    url = f"redis://{HOST}:{REDIS_PORT}/{REDIS_TEST_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@contextmanager
def broker_environment(combination: dict[str, str], run_name: str) -> Iterator[dict[str, str]]:
    """Variables pointing a project's tests at a fresh place on its real broker, and at an empty
    Redis database for results, dead letters and idempotency keys."""
    with redis_database() as redis_url:
        environment = {"DEAD_LETTER_REDIS_URL": redis_url, "IDEMPOTENCY_REDIS_URL": redis_url}
        if combination["result_backend"] == "redis":
            environment["CELERY_RESULT_BACKEND"] = redis_url
        if combination["broker"] == "rabbitmq":
            with rabbitmq_vhost(run_name) as amqp_url:
                yield {**environment, "CELERY_BROKER_URL": amqp_url}
        else:
            yield {**environment, "CELERY_BROKER_URL": redis_url}
