"""Every message has a route, and failures have a route to the dead-letter queue."""

import os
import subprocess
import sys

from {{ cookiecutter.package_name }}.celery_app import app
{%- if cookiecutter.broker == "rabbitmq" %}
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.topology import (
    DEAD_LETTER_QUEUE,
    TASK_EXCHANGE,
    WORK_QUEUE,
    task_queues,
)
{%- else %}
from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_QUEUE, TASK_EXCHANGE, WORK_QUEUE
{%- endif %}


def test_tasks_are_routed_to_the_work_queue_through_a_topic_exchange() -> None:
    # Native delayed delivery (countdown retries kept on the broker) needs a topic exchange.
    route = app.amqp.router.route({}, "{{ cookiecutter.package_name }}.tasks.diagnostics.ping")
    assert route["queue"].name == WORK_QUEUE
    assert route["queue"].exchange.type == "topic" == TASK_EXCHANGE.type


def test_both_queues_are_declared() -> None:
    assert set(app.amqp.queues) == {WORK_QUEUE, DEAD_LETTER_QUEUE}
{%- if cookiecutter.broker == "rabbitmq" %}


def test_work_queue_is_a_quorum_queue_with_an_explicit_delivery_limit() -> None:
    work, _ = task_queues(Settings(_env_file=None, rabbitmq_delivery_limit=7))
    assert work.queue_arguments is not None
    assert work.queue_arguments["x-queue-type"] == "quorum"
    assert work.queue_arguments["x-delivery-limit"] == 7


def test_dead_letter_arguments_route_to_the_dead_letter_queue() -> None:
    work, dead_letter = task_queues(Settings(_env_file=None))
    assert work.queue_arguments is not None
    assert work.queue_arguments["x-dead-letter-exchange"] == dead_letter.exchange.name
    assert work.queue_arguments["x-dead-letter-routing-key"] == dead_letter.routing_key
    assert work.queue_arguments["x-dead-letter-strategy"] == "at-least-once"
    assert dead_letter.name == DEAD_LETTER_QUEUE
{%- endif %}


def test_queue_name_prefix_renames_both_queues() -> None:
    # The names are fixed as topology.py is imported: ask a fresh interpreter.
    names = subprocess.run(
        [
            sys.executable,
            "-c",
            "from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_QUEUE, WORK_QUEUE; "
            "print(WORK_QUEUE, DEAD_LETTER_QUEUE)",
        ],
        env={**os.environ, "QUEUE_NAME_PREFIX": "tour_"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert names == ["tour_default", "tour_dead_letter"]
