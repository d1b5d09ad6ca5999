"""Real worker processes for integration tests: start, wait until ready, stop, read the log."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.health import readiness

READY_WITHIN = 60.0
STOP_WITHIN = 30.0


def wait_for(
    condition: Callable[[], bool],
    within: float,
    what: str,
    explain: Callable[[], str] | None = None,
) -> None:
    """Poll `condition` until it holds; fail naming `what` once `within` seconds have passed,
    with what `explain` says of the state it was left in."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            detail = f"; {explain()}" if explain else ""
            raise AssertionError(f"{what}: not within {within:.0f} s{detail}")
        time.sleep(0.2)


def holds_throughout(condition: Callable[[], bool], during: float, what: str) -> None:
    """Poll `condition` for `during` seconds; fail naming `what` as soon as it doesn't hold."""
    deadline = time.monotonic() + during
    while time.monotonic() < deadline:
        if not condition():
            raise AssertionError(f"{what}: stopped holding")
        time.sleep(0.2)


@dataclass
class WorkerProcess:
    """A `celery worker` running in its own process, logging to `log_path`.

    It keeps its health files (heartbeat, ready) in `health_dir`, its own HEALTH_DIR.
    """

    nodename: str
    process: subprocess.Popen[bytes]
    log_path: Path
    health_dir: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def is_ready(self) -> bool:
        """The worker's own readiness file says so (it needs no broker to answer)."""
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log()}")
        return readiness(self.health_dir) is None

    def wait_until_ready(self) -> None:
        wait_for(self.is_ready, READY_WITHIN, f"worker {self.nodename} ready")

    def consumed_queues(self) -> set[str]:
        replies = app.control.inspect([self.nodename], timeout=2).active_queues() or {}
        return {queue["name"] for queue in replies[self.nodename]}

    def processed(self, task_name: str) -> int:
        replies = app.control.inspect([self.nodename], timeout=2).stats() or {}
        totals: dict[str, int] = replies[self.nodename]["total"] if replies else {}
        return totals.get(task_name, 0)

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a node failure would."""
        with contextlib.suppress(ProcessLookupError):  # the whole group has exited already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_WITHIN)

    def stop(self) -> int:
        """Warm shutdown (SIGTERM), then SIGKILL if it overstays; returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode


@contextmanager
def running(worker: WorkerProcess) -> Iterator[WorkerProcess]:
    """`worker`, once it answers; stopped on the way out, whatever happened."""
    try:
        worker.wait_until_ready()
        yield worker
    finally:
        worker.stop()


def celery_command(program: str, *arguments: str) -> list[str]:
    """`celery -A <package> <program> --loglevel=INFO <arguments>`, run by this interpreter."""
    return [
        sys.executable,
        *("-m", "celery", "-A", "{{ cookiecutter.package_name }}", program),
        "--loglevel=INFO",
        *arguments,
    ]


def spawn_worker(
    log_dir: Path, *worker_args: str, env: dict[str, str] | None = None
) -> WorkerProcess:
    """Start `celery -A <package> worker` with `worker_args`; doesn't wait for it."""
    nodename = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log_path = log_dir / f"{nodename}.log"
    health_dir = log_dir / f"{nodename}-health"
    command = celery_command(
        "worker",
        f"--hostname={nodename}",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        *worker_args,
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            # No metrics server unless a test asks for a port: the default one is shared.
            env={**os.environ, "HEALTH_DIR": str(health_dir), "METRICS_PORT": "0", **(env or {})},
            # A group of its own, so that `kill` reaches its pool processes too.
            start_new_session=True,
        )
    return WorkerProcess(nodename, process, log_path, health_dir)
