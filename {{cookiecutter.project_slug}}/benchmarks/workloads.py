"""The tasks the throughput benchmarks run, registered with whichever app the worker loads.

Each counts its runs in Redis (one round trip), so the benchmark knows when the last one has run
whatever the acknowledgement mode. `noop` is as small as a real task gets; `sleep_20ms` waits as
long as a quick HTTP call would. Each has a `DLQTask` twin.
"""

import time

import redis
from celery import Task, shared_task

from {{ cookiecutter.package_name }}.settings import get_settings
from {{ cookiecutter.package_name }}.tasks.base import DLQTask

RUNS = "benchmark:runs"
HTTP_CALL_SECONDS = 0.02
runs = redis.Redis.from_url(get_settings().dead_letter_redis_url.get_secret_value())


@shared_task(name="benchmarks.noop")
def noop() -> None:
    runs.incr(RUNS)


@shared_task(name="benchmarks.noop_dlq", bind=True, base=DLQTask)
def noop_dlq(self: Task) -> None:  # type: ignore[type-arg]
    runs.incr(RUNS)


@shared_task(name="benchmarks.sleep_20ms")
def sleep_20ms() -> None:
    time.sleep(HTTP_CALL_SECONDS)
    runs.incr(RUNS)


@shared_task(name="benchmarks.sleep_20ms_dlq", bind=True, base=DLQTask)
def sleep_20ms_dlq(self: Task) -> None:  # type: ignore[type-arg]
    time.sleep(HTTP_CALL_SECONDS)
    runs.incr(RUNS)
