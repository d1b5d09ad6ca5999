"""An outage a test owns: a TCP relay in front of a real server (broker or Redis).

Stopping the machine's RabbitMQ or Redis would disturb everything else using them. A process
connected through the relay sees what it would see if its server died: the connection drops, and
reconnecting is refused until the relay starts again.
"""

import contextlib
import socket
import threading
from urllib.parse import urlsplit

HOST = "127.0.0.1"
DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671, "redis": 6379, "rediss": 6379}


class TcpRelay:
    """Forwards connections from a local port to the server in `url`, until stopped."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.upstream = (parts.hostname or HOST, parts.port or DEFAULT_PORTS[parts.scheme])
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.sockets: set[socket.socket] = set()
        # The port is fixed now, so the URL stays valid across stops and starts.
        self.port = free_port()
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@{HOST}:{self.port}" if credentials else f"{HOST}:{self.port}"
        self.url = parts._replace(netloc=netloc).geturl()

    def start(self) -> None:
        listener = socket.create_server((HOST, self.port))
        with self.lock:
            self.listener = listener
        threading.Thread(target=self.accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and drop the open ones."""
        with self.lock:
            listener, self.listener = self.listener, None
            doomed, self.sockets = self.sockets, set()
        if listener is not None:
            close(listener)
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


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])
