"""Stand-ins for the APIs the example tasks call, answering from a script and recording each call.

One HTTP server on 127.0.0.1 serves every stub service under its own path (`/profile`, `/crm`,
`/gateway`, `/subscriber`). A path answers with its scripted replies in turn, the last one for
good; an unscripted path answers 404.
"""

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..clients import IDEMPOTENCY_HEADER

NOT_FOUND = 404


@dataclass(frozen=True)
class Reply:
    """One scripted answer: its status and headers, after `delay` seconds."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Call:
    """A request a stub received, when (`time.monotonic()`), and the status it was answered."""

    at: float
    method: str
    path: str
    idempotency_key: str | None
    status: int


class StubServer(ThreadingHTTPServer):
    """The server; a client killed mid-answer (the tour's point) is no error worth printing."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Stubs:
    """The stub services, scripted per path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, list[Reply]] = {}
        self._calls: list[Call] = []
        self._server = StubServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, service: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/{service}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer `path` with `replies` in turn, repeating the last."""
        with self._lock:
            self._scripts[path] = list(replies)

    def calls(self, path: str) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if call.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, method: str, path: str, idempotency_key: str | None) -> Reply:
        with self._lock:
            script = self._scripts.get(path, [Reply(NOT_FOUND)])
            reply = script.pop(0) if len(script) > 1 else script[0]
            self._calls.append(Call(time.monotonic(), method, path, idempotency_key, reply.status))
        return reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stubs = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                reply = stubs._answer(self.command, self.path, self.headers.get(IDEMPOTENCY_HEADER))
                time.sleep(reply.delay)
                body = json.dumps({"path": self.path, "status": reply.status}).encode()
                self.send_response(reply.status)
                for name, value in {**reply.headers, "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self.answer()

            def do_PUT(self) -> None:
                self.answer()

            def do_POST(self) -> None:
                self.answer()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tour prints the calls itself."""

        return Handler
