"""What a worker does once as it starts, before it consumes a single message."""

import logging
import os
from typing import Any

from celery import Celery
from celery.app.amqp import Queues
from celery.apps.worker import Worker

from .deadletter.originals import warn_if_unsealed
from .settings import get_settings
{%- if cookiecutter.broker == "rabbitmq" %}
from .topology import DEAD_LETTER_QUEUE, TopologyConflictError, declare
{%- else %}
from .topology import DEAD_LETTER_QUEUE
{%- endif %}

logger = logging.getLogger(__name__)


def prepare_worker(instance: Worker, **_: Any) -> None:
    """`celeryd_after_setup` handler: runs after `--queues` is applied, before consuming."""
    keep_off_dead_letters(instance.app.amqp.queues)
    refuse_unsafe_policies(instance.app)
    warn_if_unsealed(get_settings())
{%- if cookiecutter.broker == "rabbitmq" %}
    declare_or_exit(instance)
{%- endif %}


def refuse_unsafe_policies(app: Celery) -> None:
    """Stop the worker when a task's retry policy breaks a rule of `policies check`: such a task
    loops, loses its failures or runs twice."""
    from .policies import check  # the checker imports the tasks, which import the app

    violations = check(app)
    if violations:
        listed = "\n  ".join(str(violation) for violation in violations)
        logger.critical("cannot start: unsafe retry policies:\n  %s", listed)
        raise SystemExit(os.EX_CONFIG)


def keep_off_dead_letters(queues: Queues) -> None:
    """Leave `dead_letter` to the dedicated worker started with `--queues=dead_letter`.

    A worker started without `--queues` consumes every declared queue, which would put
    dead letters in front of business code next to live traffic.
    """
    consumed = queues.consume_from
    if DEAD_LETTER_QUEUE in consumed and len(consumed) > 1:
        queues.deselect([DEAD_LETTER_QUEUE])
        logger.info("not consuming %r: it has a dedicated worker", DEAD_LETTER_QUEUE)
{%- if cookiecutter.broker == "rabbitmq" %}


def declare_or_exit(worker: Worker) -> None:
    """Declare the topology; stop the worker with a plain message if the broker disagrees."""
    with worker.app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=worker.app.conf.broker_connection_max_retries)
        try:
            declare(connection, tuple(worker.app.amqp.queues.values()))
        except TopologyConflictError as conflict:
            logger.critical("cannot start: %s", conflict)
            raise SystemExit(os.EX_CONFIG) from None
{%- endif %}
