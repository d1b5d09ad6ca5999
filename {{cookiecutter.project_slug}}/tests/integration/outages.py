{%- if cookiecutter.broker == "rabbitmq" -%}
"""A broker outage that a test owns: a TCP relay in front of the real RabbitMQ.

Stopping the machine's RabbitMQ would disturb everything else using it, and starting a private
RabbitMQ node takes longer than the test. A worker connected through the relay sees the same
thing as when its broker dies: the connection drops, and reconnecting is refused until the relay
starts again.
"""

import contextlib
import socket
import threading
from urllib.parse import urlsplit

HOST = "127.0.0.1"


class BrokerRelay:
    """Forwards connections from a local port to the real broker, until stopped."""

    def __init__(self, broker_url: str) -> None:
        parts = urlsplit(broker_url)
        self.upstream = (parts.hostname or HOST, parts.port or 5672)
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.sockets: set[socket.socket] = set()
        # The port is fixed now, so the URL stays valid across stops and starts.
        self.port = free_port()
        credentials = parts.netloc.rpartition("@")[0]
        self.url = parts._replace(netloc=f"{credentials}@{HOST}:{self.port}").geturl()

    def start(self) -> None:
        listener = socket.create_server((HOST, self.port))
        with self.lock:
            self.listener = listener
        threading.Thread(target=self.accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and drop the open ones."""
        with self.lock:
            listener, self.listener = self.listener, None
        if listener is not None:
            close(listener)
        with self.lock:
            doomed, self.sockets = self.sockets, set()
        for sock in doomed:
            close(sock)

    def accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # Stopped.
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                close(client)
                continue
            with self.lock:
                stopped = self.listener is not listener
                if not stopped:
                    self.sockets |= {client, server}
            if stopped:
                close(client)
                close(server)
                return
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=pump, args=(source, target), daemon=True).start()


def pump(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes one way until either side closes, then close both."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    close(source)
    close(target)


def close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # Already disconnected.
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
{%- else -%}
"""A broker outage that a test owns: a private redis-server on a free port of 127.0.0.1.

The machine's Redis is shared with everything else, so the test never stops that one.
"""

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from .workers import STOP_WITHIN, wait_for

HOST = "127.0.0.1"


class RedisServer:
    """A redis-server that keeps nothing on disk, started and stopped by the test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.fail("redis-server is needed on PATH to simulate a broker outage", pytrace=False)
        options = ["--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [executable, *options], cwd=self.directory, stdout=subprocess.DEVNULL
        )
        wait_for(self.answers, within=10, what=f"redis-server answering on port {self.port}")

    def answers(self) -> bool:
        try:
            socket.create_connection((HOST, self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(STOP_WITHIN)
{%- endif %}


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])
