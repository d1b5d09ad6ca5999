"""The tour's worker processes: started with the tour's settings, watched, and always stopped."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery

from ..health import readiness
from .timeline import ExpectationError

READY_WITHIN = 60.0
STOP_WITHIN = 20.0


def free_port() -> int:
    """A TCP port nothing listens on now, for a worker's metrics."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class TourWorker:
    """A `celery worker` in a process group of its own, logging to `log_path`."""

    nodename: str
    process: subprocess.Popen[bytes]
    log_path: Path
    health_dir: Path

    @classmethod
    def start(
        cls, role: str, workdir: Path, environment: dict[str, str], *arguments: str
    ) -> "TourWorker":
        nodename = f"tour-{role}-{uuid.uuid4().hex[:6]}@localhost"
        log_path = workdir / f"{role}.log"
        health_dir = workdir / f"{role}-health"
        command = [
            *(sys.executable, "-m", "celery", "-A", "{{ cookiecutter.package_name }}", "worker"),
            *(f"--hostname={nodename}", "--concurrency=1", "--without-gossip", "--without-mingle"),
            *("--loglevel=INFO", *arguments),
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - this interpreter, our own arguments
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "HEALTH_DIR": str(health_dir), **environment},
                start_new_session=True,  # Ctrl-C reaches the tour, which stops the worker
            )
        return cls(nodename, process, log_path, health_dir)

    def is_ready(self) -> bool:
        if self.process.poll() is not None:
            raise ExpectationError(f"{self.nodename} exited; its log: {self.log_path}")
        return readiness(self.health_dir) is None

    def pool_process_running(self, app: Celery, task_id: str) -> int | None:
        """The pid of the pool process running `task_id`, once the worker reports it."""
        replies = app.control.inspect([self.nodename], timeout=1).active() or {}
        for task in replies.get(self.nodename, []):
            if task["id"] == task_id:
                return int(task["worker_pid"])
        return None

    def log_lines(self) -> list[dict[str, Any]]:
        """The worker's JSON log lines (LOG_FORMAT=json)."""
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):  # plain text Celery writes before logging is set
                lines.append(json.loads(line))
        return [line for line in lines if isinstance(line, dict)]

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL to the whole group if it overstays."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_WITHIN)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_WITHIN)
        # A pool process the worker left behind goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def wait_until_ready(*workers: TourWorker) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while not all(worker.is_ready() for worker in workers):
        if time.monotonic() > deadline:
            raise ExpectationError(f"workers not ready within {READY_WITHIN:.0f} s")
        time.sleep(0.2)
