"""What a countdown retry costs on Redis, where it waits unacknowledged in a worker until due.

    python benchmarks/held_countdowns.py [--tasks 2000]

Starts one worker, publishes `--tasks` pings due in ten minutes (as retries waiting out their
backoff would be), and measures how long the worker takes to hold them all, its memory per held
task, and how long a warm shutdown takes to hand them all back to the queue. It empties the work
queue of CELERY_BROKER_URL: point that at a database of its own.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
from kombu.transport.redis import Channel

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.health import readiness
from {{ cookiecutter.package_name }}.tasks.diagnostics import ping
from {{ cookiecutter.package_name }}.topology import WORK_QUEUE

COUNTDOWN = 600
WITHIN = 300.0


def wait_until(condition: Callable[[], bool], what: str) -> float:
    """Seconds until `condition` holds; fails after WITHIN seconds."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > WITHIN:
            raise SystemExit(f"{what}: not within {WITHIN:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for process {pid}")


def empty_work_queue(broker: redis.Redis) -> None:
    broker.delete(WORK_QUEUE, Channel.unacked_key, Channel.unacked_index_key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    tasks = parser.parse_args().tasks
    broker = redis.Redis.from_url(app.conf.broker_url)
    empty_work_queue(broker)
    health_dir = Path(tempfile.mkdtemp(prefix="held-countdowns-"))
    worker = subprocess.Popen(  # noqa: S603 - this interpreter's own celery
        [
            sys.executable,
            *("-m", "celery", "-A", "{{ cookiecutter.package_name }}", "worker"),
            *("--concurrency=1", "--loglevel=WARNING", "--without-gossip", "--without-mingle"),
        ],
        env={**os.environ, "HEALTH_DIR": str(health_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: readiness(health_dir) is None, "the worker ready")
        idle_kib = resident_kib(worker.pid)
        started = time.monotonic()
        for _ in range(tasks):
            ping.apply_async(countdown=COUNTDOWN)
        published_after = time.monotonic() - started
        wait_until(lambda: broker.hlen(Channel.unacked_key) == tasks, "all held")
        held_after = time.monotonic() - started
        per_task = (resident_kib(worker.pid) - idle_kib) / tasks
        worker.send_signal(signal.SIGTERM)
        handed_back_after = wait_until(
            lambda: worker.poll() is not None and broker.llen(WORK_QUEUE) == tasks,
            "all handed back",
        )
    finally:
        worker.kill()
        worker.wait()
        empty_work_queue(broker)
    print(f"{tasks} countdown tasks, due in {COUNTDOWN} s:")
    print(f"  published in                   {published_after:.1f} s")
    print(f"  all held by one worker after   {held_after:.1f} s")
    print(f"  worker memory per held task    {per_task:.1f} KiB")
    print(f"  warm shutdown handed back all  {handed_back_after:.1f} s")


if __name__ == "__main__":
    main()
