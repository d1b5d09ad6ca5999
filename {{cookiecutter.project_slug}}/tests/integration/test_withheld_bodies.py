"""A message the worker refuses is dead-lettered, and its arguments never reach the log."""

import json
import uuid

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.redaction import MASK
from {{ cookiecutter.package_name }}.tasks.diagnostics import ping
from {{ cookiecutter.package_name }}.topology import TASK_EXCHANGE, WORK_QUEUE

from .workers import WorkerProcess, wait_for

SECRET = "k-live-5f3a9c"
UNREGISTERED = "{{ cookiecutter.package_name }}.tasks.no_such_task"


def wait_for_record(store: RedisDeadLetterStore, task_id: str) -> DeadLetter:
    wait_for(lambda: store.get(task_id) is not None, 60, f"dead-letter record {task_id}")
    record = store.get(task_id)
    assert record is not None
    return record


def test_an_unknown_task_is_logged_without_its_arguments(
    worker: WorkerProcess, dead_letter_worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    sent = app.send_task(UNREGISTERED, kwargs={"api_key": SECRET})
    record = wait_for_record(store, sent.id)
    assert (record.reason, record.kwargs) == ("unknown_task", {"api_key": MASK})
    wait_for(lambda: sent.id in worker.log(), 30, "the worker's line about the unknown task")
    assert "Received unregistered task" in worker.log()
    assert SECRET not in worker.log() + dead_letter_worker.log()


def test_an_undecodable_body_is_logged_without_its_contents(
    worker: WorkerProcess, dead_letter_worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    task_id = str(uuid.uuid4())
    headers = {"id": task_id, "task": ping.name}
    with app.producer_or_acquire() as producer:
        producer.publish(
            json.dumps({"api_key": SECRET})[:-1].encode(),  # cut short: not JSON
            exchange=TASK_EXCHANGE,
            routing_key=WORK_QUEUE,
            content_type="application/json",
            content_encoding="utf-8",
            headers={**headers, "argsrepr": "()", "kwargsrepr": repr({"api_key": SECRET})},
        )
    assert wait_for_record(store, task_id).reason == "malformed"
    wait_for(lambda: task_id in worker.log(), 30, "the worker's line about the undecodable body")
    assert SECRET not in worker.log() + dead_letter_worker.log()
