"""Tasks for the Redis recovery tests, loaded only into their workers
(`--include tests.integration.recovery_tasks`). Each notes in Redis when and where it ran."""

import os
import signal
import socket
import time

import redis
from celery import Task

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.store import connected_store
from {{ cookiecutter.package_name }}.tasks.base import DLQTask

MODULE = __name__


def note_run(task: Task) -> None:  # type: ignore[type-arg]
    """Append `<epoch seconds> <worker hostname>` to this task's run list."""
    run = f"{time.time():.3f} {task.request.hostname or socket.gethostname()}"
    connected_store().client.rpush(f"test-recovery-runs:{task.request.id}", run)


def note_done(task: Task) -> None:  # type: ignore[type-arg]
    connected_store().client.set(f"test-recovery-done:{task.request.id}", f"{time.time():.3f}")


@app.task(bind=True, base=DLQTask, shared=False)
def naps(self: Task, seconds: float) -> None:  # type: ignore[type-arg]
    note_run(self)
    time.sleep(seconds)
    note_done(self)


@app.task(bind=True, base=DLQTask, shared=False, max_retries=1)
def fails_then_waits(self: Task, countdown: int) -> None:  # type: ignore[type-arg]
    """Fails its first run and retries after `countdown` seconds; the retry succeeds."""
    note_run(self)
    if self.request.retries == 0:
        raise self.retry(countdown=countdown)
    note_done(self)


@app.task(bind=True, base=DLQTask, shared=False)
def kills_its_whole_worker(self: Task) -> None:  # type: ignore[type-arg]
    """SIGKILLs the worker's whole process group, main process included, as a node loss would."""
    note_run(self)
    os.killpg(os.getpgid(0), signal.SIGKILL)


def runs(client: redis.Redis, task_id: str) -> list[tuple[float, str]]:
    """When and on which worker each run of a task started, read through `client` (which
    decodes responses)."""
    raw = client.lrange(f"test-recovery-runs:{task_id}", 0, -1)
    return [(float(at), host) for at, host in (str(run).split(" ", 1) for run in raw)]


def done_at(client: redis.Redis, task_id: str) -> float | None:
    value = client.get(f"test-recovery-done:{task_id}")
    return None if value is None else float(value)
