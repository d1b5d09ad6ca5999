"""Tasks that fail in the ways a unit test can't produce, loaded only into test workers
(`--include tests.integration.faulty_tasks`). They keep their counts in the dead-letter Redis.

They stand in for business tasks in the tests of generic behaviour, so those tests hold for a
service generated without the example tasks too."""

import json
import os
import signal
import time
import uuid

from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.store import connected_store
from {{ cookiecutter.package_name }}.retry import TRANSIENT
from {{ cookiecutter.package_name }}.tasks.base import DLQTask

from .workers import wait_for

MODULE = __name__
MEETING_WITHIN = 30.0


def count_run(task: Task) -> None:  # type: ignore[type-arg]
    connected_store().client.incr(f"test-runs:{task.request.id}")


@app.task(bind=True, base=DLQTask, shared=False, **TRANSIENT.task_options())
def syncs_record(self: Task, record_id: str) -> None:  # type: ignore[type-arg]
    """Upserts a record in a service that is down for the attempts `new_record` scripted, then
    answers. The transient tier retries its `ConnectionError`; every attempt is recorded."""
    client = connected_store().client
    down = client.decr(f"test-outage:{record_id}") >= 0
    client.rpush(f"test-attempts:{record_id}", "unavailable" if down else "synced")
    if down:
        raise ConnectionError(f"record {record_id}: service unavailable (503)")


def new_record(outage_for: int) -> str:
    """A record id of this run alone, whose next `outage_for` attempts of `syncs_record` find
    the service down."""
    record_id = f"record-{uuid.uuid4().hex[:12]}"
    connected_store().client.set(f"test-outage:{record_id}", outage_for)
    return record_id


def attempts(record_id: str) -> list[str]:
    """Each attempt of `syncs_record(record_id)` so far: "unavailable" or "synced"."""
    outcomes = connected_store().client.lrange(f"test-attempts:{record_id}", 0, -1)
    return [str(outcome) for outcome in outcomes]


@app.task(bind=True, base=DLQTask, shared=False, **TRANSIENT.task_options())
def is_declined(self: Task, payment_id: str) -> None:  # type: ignore[type-arg]
    """Refused with an error its retrying tier doesn't list, as a declined card is: it fails at
    once. It touches no Redis, so it runs the same while a test holds the store away."""
    raise PermissionError(f"payment {payment_id}: declined")


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


@app.task(bind=True, base=DLQTask, shared=False)
def uses_credentials(self: Task, account: str, api_key: str, payload: dict[str, str]) -> None:  # type: ignore[type-arg]
    """Records the arguments it received; fails (never retried) until `account` is fixed."""
    received(self, {"account": account, "api_key": api_key, "payload": payload})
    if not connected_store().client.exists(f"test-fixed:{account}"):
        raise PermissionError("credentials refused")


@app.task(bind=True, base=DLQTask, shared=False)
def rejects_credentials(self: Task, account: str, api_key: str) -> None:  # type: ignore[type-arg]
    """Records the arguments it received; rejects its message until `account` is fixed."""
    received(self, {"account": account, "api_key": api_key})
    if not connected_store().client.exists(f"test-fixed:{account}"):
        raise Reject("credentials refused", requeue=False)


FAILURES: dict[str, type[Exception]] = {
    "lookup": LookupError,
    "value": ValueError,
    "permission": PermissionError,
}


@app.task(bind=True, base=DLQTask, shared=False)
def fails_as(self: Task, kind: str, scenario: str, item: int) -> None:  # type: ignore[type-arg]
    """Fails (never retried) with the `kind` of error, whose message names `scenario` and
    `item`, until `scenario` is fixed; records each run's arguments."""
    received(self, {"kind": kind, "scenario": scenario, "item": item})
    if not connected_store().client.exists(f"test-fixed:{scenario}"):
        raise FAILURES[kind](f"{kind} failure in {scenario} at item {item}")


@app.task(shared=False)
def meets(meeting: str, size: int) -> None:
    """Returns once `size` runs of `meeting` have started: a worker with `size` pool processes
    runs one in each, since none of them ends before the last has started."""
    client = connected_store().client
    key = f"test-meeting:{meeting}"
    client.incr(key)
    wait_for(
        lambda: int(client.get(key) or 0) >= size,
        MEETING_WITHIN,
        f"{size} runs of meeting {meeting}",
    )


def received(task: Task, kwargs: dict[str, object]) -> None:  # type: ignore[type-arg]
    connected_store().client.rpush(f"test-received:{task.request.id}", json.dumps(kwargs))


def received_kwargs(task_id: str) -> list[dict[str, object]]:
    """The keyword arguments each run of a credentials task received, in order."""
    values = connected_store().client.lrange(f"test-received:{task_id}", 0, -1)
    return [json.loads(value) for value in values]


def fix(account: str) -> None:
    """The fault behind a credentials task is fixed: its next run succeeds."""
    connected_store().client.set(f"test-fixed:{account}", 1)


def runs(task_id: str) -> int:
    """How many times a faulty task started, as counted by the task itself."""
    return int(connected_store().client.get(f"test-runs:{task_id}") or 0)
