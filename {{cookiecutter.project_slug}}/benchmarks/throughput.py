"""Measuring throughput: a worker that consumes only when told to, and the time it takes to drain
a queue filled while it waited.

Worker start-up and publishing are kept out of the consume figure: tasks are published while the
worker consumes nothing, then `add_consumer` lets it go, and the clock stops when the last task
has counted its run.
"""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from celery import Celery

from .workloads import RUNS, runs

WITHIN = 300.0
# Control commands to one worker return at its reply; a busy worker may need more than a second.
REPLY_WITHIN = 30.0


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WITHIN
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not within {WITHIN:.0f} s")
        time.sleep(0.01)


@dataclass(frozen=True)
class Worker:
    """A running worker, addressed by its node name, consuming `queue` only when told to."""

    nodename: str
    queue: str


@dataclass(frozen=True)
class Rates:
    published: float
    consumed: float


@contextmanager
def idle_worker(
    app: Celery, app_module: str, queue: str, env: dict[str, str], *options: str
) -> Iterator[Worker]:
    """`celery -A app_module worker --concurrency=2 --queues=queue options`, answering and
    consuming nothing. It consumes `queue` alone, as the service's main worker consumes its work
    queue alone: a worker still waiting on another queue would start on this one late. A worker
    that exits early stops the benchmark with the end of its log."""
    nodename = f"bench-{uuid.uuid4().hex[:8]}@localhost"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 - this interpreter's own celery
            [
                sys.executable,
                *("-m", "celery", "-A", app_module, "worker", f"--hostname={nodename}"),
                *("--concurrency=2", f"--queues={queue}", "--loglevel=INFO"),
                *("--without-gossip", "--without-mingle"),
                *options,
            ],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def answers() -> bool:
            if process.poll() is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-3000:]
                raise SystemExit(f"worker {app_module} exited with {process.returncode}:\n{tail}")
            return bool(app.control.ping([nodename], timeout=0.5))

        try:
            wait_until(answers, f"{nodename} up")
            app.control.cancel_consumer(
                queue, destination=[nodename], reply=True, timeout=REPLY_WITHIN
            )
            yield Worker(nodename, queue)
        finally:
            process.terminate()
            process.wait(60)


def drain(app: Celery, worker: Worker, task_name: str, tasks: int) -> Rates:
    """Publish `tasks` runs of `task_name`, then time `worker` running them all."""
    runs.delete(RUNS)
    started = time.monotonic()
    for _ in range(tasks):
        app.send_task(task_name, queue=worker.queue)
    published = tasks / (time.monotonic() - started)
    destination = [worker.nodename]
    started = time.monotonic()
    app.control.add_consumer(
        worker.queue, destination=destination, reply=True, timeout=REPLY_WITHIN
    )
    wait_until(lambda: int(runs.get(RUNS) or 0) >= tasks, f"{tasks} x {task_name} run")
    consumed = tasks / (time.monotonic() - started)
    app.control.cancel_consumer(
        worker.queue, destination=destination, reply=True, timeout=REPLY_WITHIN
    )
    return Rates(published, consumed)
