"""A broker the chaos tests may restart while workers use it.
{%- if cookiecutter.broker == "rabbitmq" %}

The RabbitMQ node at CELERY_BROKER_URL, restarted with `rabbitmqctl stop_app` / `start_app`:
run the chaos tests against a development broker only. Quorum queues keep their messages across
the restart.
{%- else %}

A `redis-server` of the tests' own, on a free port, with an append-only file in a temporary
directory: restarting it leaves every other user of Redis alone. It stops with SIGTERM, which
writes the append-only file out; `redis-server` must be on PATH.
{%- endif %}
"""

import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
{%- if cookiecutter.broker == "redis" %}
from pathlib import Path
{%- endif %}
from urllib.parse import urlsplit

import pytest
{%- if cookiecutter.broker == "rabbitmq" %}

from {{ cookiecutter.package_name }}.settings import get_settings
{%- endif %}

from ..integration.relay import DEFAULT_PORTS{% if cookiecutter.broker == "redis" %}, free_port{% endif %}
from ..integration.workers import wait_for

START_WITHIN = 60.0


def accepts_connections(url: str) -> bool:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORTS[parts.scheme])
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return False
    return True


def executable(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"the chaos tests need {name} on PATH to restart the broker", pytrace=False)
    return path
{%- if cookiecutter.broker == "rabbitmq" %}


class RestartableBroker:
    """The RabbitMQ node behind CELERY_BROKER_URL."""

    def __init__(self) -> None:
        self.url = get_settings().celery_broker_url.get_secret_value()

    def start(self) -> None:
        wait_for(lambda: accepts_connections(self.url), START_WITHIN, "RabbitMQ accepting")

    @contextmanager
    def down(self) -> Iterator[None]:
        """The node's RabbitMQ application stopped, and started again on the way out."""
        rabbitmqctl = executable("rabbitmqctl")
        subprocess.run([rabbitmqctl, "-q", "stop_app"], check=True, timeout=120)
        try:
            yield
        finally:
            subprocess.run([rabbitmqctl, "-q", "start_app"], check=True, timeout=120)
            self.start()

    def restart(self) -> None:
        with self.down():
            pass

    def stop(self) -> None:
        """Leave the node running: it was running before the tests."""
{%- else %}


class RestartableBroker:
    """A `redis-server` with AOF on a free port, owned by the tests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            executable("redis-server"),
            *("--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory)),
            *("--appendonly", "yes", "--save", ""),
        ]
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: accepts_connections(self.url), START_WITHIN, "redis-server accepting")

    @contextmanager
    def down(self) -> Iterator[None]:
        """The server stopped (SIGTERM: it writes its append-only file), and started again on
        the way out."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def restart(self) -> None:
        with self.down():
            pass

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(START_WITHIN)
{%- endif %}
