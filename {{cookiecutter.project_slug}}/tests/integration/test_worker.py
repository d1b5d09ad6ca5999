"""A real worker process consumes the right queues and runs tasks end to end."""
{% if cookiecutter.broker == "rabbitmq" %}
import os
from pathlib import Path

import pytest
from kombu import Connection, Queue

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.settings import get_settings
from {{ cookiecutter.package_name }}.tasks.diagnostics import ping
from {{ cookiecutter.package_name }}.topology import (
    DEAD_LETTER_QUEUE,
    TASK_EXCHANGE,
    WORK_QUEUE,
    TopologyConflictError,
    declare,
)
{%- else %}
from pathlib import Path

from {{ cookiecutter.package_name }}.tasks.diagnostics import ping
from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_QUEUE, WORK_QUEUE
{%- endif %}

from .workers import WorkerProcess, running, spawn_worker, wait_for


def test_worker_runs_a_task_end_to_end(worker: WorkerProcess) -> None:
    before = worker.processed(ping.name)
    ping.delay()
    wait_for(
        lambda: worker.processed(ping.name) == before + 1, within=30, what="ping processed once"
    )


def test_main_worker_leaves_dead_letters_to_the_dedicated_worker(worker: WorkerProcess) -> None:
    assert worker.consumed_queues() == {WORK_QUEUE}


def test_dead_letter_worker_consumes_only_dead_letters(worker_logs: Path) -> None:
    with running(spawn_worker(worker_logs, f"--queues={DEAD_LETTER_QUEUE}")) as dead_letter_worker:
        assert dead_letter_worker.consumed_queues() == {DEAD_LETTER_QUEUE}
{%- if cookiecutter.broker == "rabbitmq" %}


def test_worker_refuses_to_start_on_a_conflicting_queue(
    broker: Connection, worker: WorkerProcess, worker_logs: Path
) -> None:
    # The session worker declared the work queue; a new limit can't be applied in place.
    changed_limit = str(get_settings().rabbitmq_delivery_limit + 1)
    refused = spawn_worker(worker_logs, env={"RABBITMQ_DELIVERY_LIMIT": changed_limit})
    try:
        assert refused.process.wait(60) == os.EX_CONFIG
    finally:
        refused.stop()
    log = refused.log()
    assert "cannot start: queue 'default' already exists" in log
    assert "inequivalent arg 'x-delivery-limit'" in log
    assert "Traceback" not in log


def test_work_queue_on_the_broker_is_a_quorum_queue(
    broker: Connection, worker: WorkerProcess
) -> None:
    # RabbitMQ doesn't report a queue's arguments over AMQP, but it names the current value
    # of any argument a declaration contradicts.
    declared = app.amqp.queues[WORK_QUEUE].queue_arguments or {}
    classic = Queue(
        WORK_QUEUE,
        TASK_EXCHANGE,
        routing_key=WORK_QUEUE,
        queue_arguments={**declared, "x-queue-type": "classic"},
    )
    with pytest.raises(TopologyConflictError, match=r"'x-queue-type'.*current is 'quorum'"):
        declare(broker, (classic,))
{%- endif %}
