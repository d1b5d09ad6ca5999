"""A real HTTP server on 127.0.0.1: answers each path from a script, records every request."""

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    at: float
    status: int


class HttpStub:
    """Serves scripted replies per path (then 200 `{}`), in a background thread."""

    def __init__(self) -> None:
        self.scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.scripts[path].extend(replies)

    def requests_to(self, path: str) -> list[Request]:
        with self.lock:
            return [request for request in self.requests if request.path == path]

    def answer(self, method: str, path: str) -> Reply:
        with self.lock:
            script = self.scripts[path]
            reply = script.popleft() if script else Reply()
            self.requests.append(Request(method, path, time.monotonic(), reply.status))
        return reply

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def respond(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                reply = stub.answer(self.command, self.path)
                body = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = respond  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet; `HttpStub.requests` records everything."""

        return Handler

    def __enter__(self) -> "HttpStub":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
