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
from typing import IO, Any

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
class Rates:
    published: float
    consumed: float


@dataclass(frozen=True)
class Worker:
    """A worker process, addressed by its node name, consuming `queue` only when told to."""

    app: Celery
    app_module: str
    nodename: str
    queue: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def wait_idle(self) -> None:
        """Wait until it answers, then stop it consuming: it runs nothing until `drain` asks.
        A worker that exits early stops the benchmark with the end of its log, and so does a
        queue holding messages already: they would be counted as the benchmark's."""
        wait_until(self.answers, f"{self.nodename} up")
        self.app.control.cancel_consumer(
            self.queue, destination=[self.nodename], reply=True, timeout=REPLY_WITHIN
        )
        if waiting := self.waiting():
            raise SystemExit(
                f"queue {self.queue} holds {waiting} messages: empty it, or point "
                "CELERY_BROKER_URL at a place of the benchmark's own"
            )

    def waiting(self) -> int:
        """Messages waiting in its queue."""
        with self.app.connection_for_write() as connection:
            channel: Any = connection.default_channel  # its stub declares no queue_declare
            try:
                declared = channel.queue_declare(self.queue, passive=True)
            except connection.channel_errors:  # Redis keeps no empty queue
                return 0
        return int(declared.message_count)

    def answers(self) -> bool:
        if self.process.poll() is not None:
            self.log.seek(0)
            tail = self.log.read().decode(errors="replace")[-3000:]
            raise SystemExit(
                f"worker {self.app_module} exited with {self.process.returncode}:\n{tail}"
            )
        return bool(self.app.control.ping([self.nodename], timeout=0.5))


@contextmanager
def started_worker(
    app: Celery, app_module: str, queue: str, env: dict[str, str], *options: str
) -> Iterator[Worker]:
    """`celery -A app_module worker --concurrency=2 --queues=queue options`, stopped on leaving.
    It consumes `queue` alone, as the service's main worker consumes its work queue alone: a
    worker still waiting on another queue would start on this one late. Workers start side by
    side: call `wait_idle` on each once all are started."""
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
        try:
            yield Worker(app, app_module, nodename, queue, process, log)
        finally:
            process.terminate()
            process.wait(60)


def drain(worker: Worker, task_name: str, tasks: int) -> Rates:
    """Publish `tasks` runs of `task_name`, then time `worker` running them all."""
    runs.delete(RUNS)
    started = time.monotonic()
    for _ in range(tasks):
        worker.app.send_task(task_name, queue=worker.queue)
    published = tasks / (time.monotonic() - started)
    destination = [worker.nodename]
    started = time.monotonic()
    worker.app.control.add_consumer(
        worker.queue, destination=destination, reply=True, timeout=REPLY_WITHIN
    )
    wait_until(lambda: int(runs.get(RUNS) or 0) >= tasks, f"{tasks} x {task_name} run")
    consumed = tasks / (time.monotonic() - started)
    worker.app.control.cancel_consumer(
        worker.queue, destination=destination, reply=True, timeout=REPLY_WITHIN
    )
    return Rates(published, consumed)
