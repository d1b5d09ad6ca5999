"""A task for the real-Prometheus scenario, loaded only into its worker
(`--include tests.prometheus.scenario_tasks`): its first run waits to be SIGKILLed."""

import os
import time

from celery import Task

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.store import connected_store

MODULE = __name__
KILL_ME_WITHIN = 60


def pid_key(task_id: str) -> str:
    return f"test-pid:{task_id}"


@app.task(bind=True, shared=False)
def waits_to_be_killed_once(self: Task) -> str:  # type: ignore[type-arg]
    """The first run publishes its pid and waits for the test to kill it; a redelivery returns."""
    client = connected_store().client
    if client.incr(f"test-runs:{self.request.id}") == 1:
        client.set(pid_key(str(self.request.id)), os.getpid())
        time.sleep(KILL_ME_WITHIN)
    return "survived"


def running_pid(task_id: str) -> int | None:
    pid = connected_store().client.get(pid_key(task_id))
    return None if pid is None else int(pid)
