"""What the service's task path costs: `DLQTask` against a plain task, and metrics plus JSON logs
against neither, on the service's own worker settings.

    python benchmarks/task_path.py [--tasks 2000] [--rounds 3]

Two workers start once (concurrency 2): one as deployed (`METRICS_PORT` on, `LOG_FORMAT=json`),
one with both off. Each round runs every variant in turn, so a slow moment of the machine hits
them all alike: it publishes `--tasks` tasks while no worker consumes, lets one worker consume,
and times until the last task has run. Each task increments a counter in Redis, one round trip,
as small a real task as there is. Prints tasks/s per variant (median of the rounds) and each
ratio to the plain task on the deployed worker. It empties the work queue of CELERY_BROKER_URL
and writes to DEAD_LETTER_REDIS_URL: point both at a place of their own.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from celery import Task

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.health import readiness
from {{ cookiecutter.package_name }}.settings import get_settings
from {{ cookiecutter.package_name }}.tasks.base import DLQTask
from {{ cookiecutter.package_name }}.topology import WORK_QUEUE

WITHIN = 300.0
COUNTER = "benchmark:task-path:runs"
METRICS_PORT = "19808"
_counter = redis.Redis.from_url(get_settings().dead_letter_redis_url.get_secret_value())


# Named explicitly: the worker imports this file as `benchmarks.task_path`, the benchmark runs it
# as `__main__`, and both must mean the same tasks.
@app.task(name="benchmarks.plain_task")
def plain_task(number: int) -> None:
    _counter.incr(COUNTER)


@app.task(name="benchmarks.dlq_task", bind=True, base=DLQTask)
def dlq_task(self: Task, number: int) -> None:  # type: ignore[type-arg]
    _counter.incr(COUNTER)


@dataclass(frozen=True)
class Worker:
    nodename: str
    process: subprocess.Popen[bytes]


@dataclass(frozen=True)
class Variant:
    label: str
    task: Task  # type: ignore[type-arg]
    worker: Worker


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WITHIN
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not within {WITHIN:.0f} s")
        time.sleep(0.01)


@contextmanager
def worker(name: str, env: dict[str, str]) -> Iterator[Worker]:
    """A worker with the service's settings plus `env`, ready and consuming nothing yet."""
    nodename = f"bench-{name}-{uuid.uuid4().hex[:6]}@localhost"
    health_dir = Path(tempfile.mkdtemp(prefix="task-path-"))
    process = subprocess.Popen(  # noqa: S603 - this interpreter's own celery
        [
            sys.executable,
            *("-m", "celery", "-A", "{{ cookiecutter.package_name }}", "worker"),
            *(f"--hostname={nodename}", "--concurrency=2", "--loglevel=INFO"),
            *("--without-gossip", "--without-mingle", "--include=benchmarks.task_path"),
        ],
        env={**os.environ, "HEALTH_DIR": str(health_dir), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: readiness(health_dir) is None, f"worker {name} ready")
        app.control.cancel_consumer(WORK_QUEUE, destination=[nodename], reply=True)
        yield Worker(nodename, process)
    finally:
        process.terminate()
        process.wait(60)


def throughput(variant: Variant, tasks: int) -> float:
    """Tasks per second while `variant.worker` drains `tasks` queued tasks of `variant.task`."""
    _counter.delete(COUNTER)
    for number in range(tasks):
        variant.task.delay(number)
    destination = [variant.worker.nodename]
    started = time.monotonic()
    app.control.add_consumer(WORK_QUEUE, destination=destination, reply=True)
    wait_until(lambda: int(_counter.get(COUNTER) or 0) >= tasks, f"{variant.label} drained")
    elapsed = time.monotonic() - started
    app.control.cancel_consumer(WORK_QUEUE, destination=destination, reply=True)
    return tasks / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with ExitStack() as stack:
        deployed = stack.enter_context(
            worker("deployed", {"METRICS_PORT": METRICS_PORT, "LOG_FORMAT": "json"})
        )
        bare = stack.enter_context(worker("bare", {"METRICS_PORT": "0", "LOG_FORMAT": "text"}))
        variants = [
            Variant("plain task, metrics and JSON logs on", plain_task, deployed),
            Variant("DLQTask, metrics and JSON logs on", dlq_task, deployed),
            Variant("plain task, metrics and JSON logs off", plain_task, bare),
        ]
        rates: dict[str, list[float]] = {variant.label: [] for variant in variants}
        for _ in range(options.rounds):
            for variant in variants:
                rates[variant.label].append(throughput(variant, options.tasks))
    baseline = statistics.median(rates[variants[0].label])
    print(f"{options.tasks} tasks per round, {options.rounds} rounds, concurrency 2:")
    for label, measured in rates.items():
        median = statistics.median(measured)
        print(f"  {label:<40} {median:7.0f} tasks/s  {median / baseline:5.2f}x")


if __name__ == "__main__":
    main()
