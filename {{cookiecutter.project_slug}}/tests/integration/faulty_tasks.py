"""Tasks that fail in the ways a unit test can't produce, loaded only into test workers
(`--include tests.integration.faulty_tasks`). Each counts its runs in the dead-letter Redis."""

import os
import signal
import time

from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.store import connected_store
from {{ cookiecutter.package_name }}.tasks.base import DLQTask

MODULE = __name__


def count_run(task: Task) -> None:  # type: ignore[type-arg]
    connected_store().client.incr(f"test-runs:{task.request.id}")


@app.task(bind=True, base=DLQTask, shared=False)
def rejects_itself(self: Task) -> None:  # type: ignore[type-arg]
    count_run(self)
    raise Reject("refused by the task", requeue=False)


@app.task(bind=True, base=DLQTask, shared=False, soft_time_limit=1, time_limit=2)
def outlives_its_time_limit(self: Task) -> None:  # type: ignore[type-arg]
    """Ignores the soft time limit, as a hung call would, until the hard limit kills it."""
    count_run(self)
    try:
        time.sleep(10)
    except SoftTimeLimitExceeded:
        time.sleep(10)


@app.task(bind=True, base=DLQTask, shared=False)
def kills_its_worker(self: Task) -> None:  # type: ignore[type-arg]
    count_run(self)
    os.kill(os.getpid(), signal.SIGKILL)


@app.task(bind=True, base=DLQTask, shared=False)
def refuses_credentials(self: Task, api_key: str) -> None:  # type: ignore[type-arg]
    """Fails at once (no policy retries `PermissionError`), holding a secret argument."""
    count_run(self)
    raise PermissionError("credentials refused")


def runs(task_id: str) -> int:
    """How many times a faulty task started, as counted by the task itself."""
    return int(connected_store().client.get(f"test-runs:{task_id}") or 0)
