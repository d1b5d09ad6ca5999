"""What countdown tasks cost a Redis worker, and how late they run, now that they wait in Redis.

    python -m benchmarks.held_countdowns [--tasks 10000] [--lead 30] [--spread 60]

Starts one worker, publishes `--tasks` tasks due over `--spread` seconds starting `--lead`
seconds from now (as retries waiting out their backoff would be), and measures the worker's
memory while they wait (per task: before parking, a worker held each one, 7.3 KiB apiece), the
Redis memory per parked task, and how late each task ran after its due time. It empties the work
queue and the parked set of CELERY_BROKER_URL: point that at a database of its own.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from celery import Task
from kombu.transport.redis import Channel

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.health import readiness
from {{ cookiecutter.package_name }}.parking import PARKED_KEY, due_at
from {{ cookiecutter.package_name }}.topology import WORK_QUEUE

# The worker imports this module for its task.
MODULE = "benchmarks.held_countdowns"
LATENESS = "benchmark:lateness"
WITHIN = 300.0


@app.task(bind=True, name="benchmarks.note_lateness")
def note_lateness(self: Task) -> None:  # type: ignore[type-arg]
    """Record how long after its due time this task started."""
    due = due_at({"headers": {"eta": self.request.eta}})
    lateness = time.time() - (due if due is not None else time.time())
    redis.Redis.from_url(app.conf.broker_url).rpush(LATENESS, f"{lateness:.3f}")


def wait_until(condition: Callable[[], bool], what: str, within: float = WITHIN) -> float:
    """Seconds until `condition` holds; fails after `within` seconds."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            raise SystemExit(f"{what}: not within {within:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for process {pid}")


def empty(broker: redis.Redis) -> None:
    broker.delete(WORK_QUEUE, PARKED_KEY, LATENESS, Channel.unacked_key, Channel.unacked_index_key)


def start_worker(health_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - this interpreter's own celery
        [
            sys.executable,
            *("-m", "celery", "-A", "{{ cookiecutter.package_name }}", "worker"),
            *("--concurrency=4", "--loglevel=WARNING", "--without-gossip", "--without-mingle"),
            f"--include={MODULE}",
        ],
        env={**os.environ, "HEALTH_DIR": str(health_dir), "METRICS_PORT": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--lead", type=float, default=30.0, help="seconds to the first due time")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds from first to last")
    options = parser.parse_args()
    tasks: int = options.tasks
    broker = redis.Redis.from_url(app.conf.broker_url)
    empty(broker)
    health_dir = Path(tempfile.mkdtemp(prefix="held-countdowns-"))
    worker = start_worker(health_dir)
    try:
        wait_until(lambda: readiness(health_dir) is None, "the worker ready")
        idle_kib = resident_kib(worker.pid)
        first_due = datetime.now(UTC) + timedelta(seconds=options.lead)
        step = timedelta(seconds=options.spread / tasks)
        started = time.monotonic()
        for index in range(tasks):
            note_lateness.apply_async(eta=first_due + index * step)
        published_after = time.monotonic() - started
        wait_until(lambda: broker.zcard(PARKED_KEY) == tasks, "all parked", within=10)
        parked_kib = resident_kib(worker.pid)
        redis_bytes = int(broker.memory_usage(PARKED_KEY) or 0)
        ran_after = wait_until(
            lambda: broker.llen(LATENESS) == tasks,
            "all run",
            within=options.lead + options.spread + WITHIN,
        )
        after_kib = resident_kib(worker.pid)
        lateness = sorted(float(value) for value in broker.lrange(LATENESS, 0, -1))
    finally:
        worker.kill()
        worker.wait()
        empty(broker)
    print(f"{tasks} countdown tasks, due from {options.lead:.0f} s over {options.spread:.0f} s:")
    print(f"  published in                      {published_after:.1f} s")
    print(f"  all run after                     {published_after + ran_after:.1f} s")
    print(f"  worker memory idle                {idle_kib} KiB")
    print(f"  worker memory per parked task     {(parked_kib - idle_kib) / tasks:.2f} KiB")
    print(f"  worker memory after all ran       {after_kib} KiB")
    print(f"  Redis memory per parked task      {redis_bytes / tasks / 1024:.2f} KiB")
    print(
        "  lateness after due time           "
        f"median {statistics.median(lateness):.2f} s, "
        f"p99 {lateness[int(0.99 * (tasks - 1))]:.2f} s, max {lateness[-1]:.2f} s"
    )


if __name__ == "__main__":
    main()
