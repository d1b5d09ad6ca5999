"""Where a terminal failure goes: the hand-off from a task to the dead-letter store.

`DLQTask` builds a `DeadLetter` and calls `hand_off`, which writes it to the store. If the
store can't be reached, the record is not lost:
{%- if cookiecutter.broker == "rabbitmq" %}
the task's message is rejected to RabbitMQ's dead-letter exchange after the failure, and the
dead-letter worker archives that copy once the store is back.
{%- else %}
it is published to the `dead_letter` queue instead, and the dead-letter worker archives it once
the store is back.
{%- endif %}
"""

import logging
from functools import cache
from typing import Protocol

import redis

from ..metrics import TASKS_DEAD_LETTERED
from ..settings import get_settings
from .record import DeadLetter
from .store import RedisDeadLetterStore, connect_store
{%- if cookiecutter.broker == "redis" %}
from .transport import publish_record
{%- endif %}

logger = logging.getLogger(__name__)


class DeadLetterSink(Protocol):
    def record(self, dead_letter: DeadLetter) -> None:
        """Keep `dead_letter`; raise if it could not be kept."""


class StoreSink:
    """Writes each record to the dead-letter store named by `DEAD_LETTER_REDIS_URL`."""

    def record(self, dead_letter: DeadLetter) -> None:
        connected_store().save(dead_letter)


@cache
def connected_store() -> RedisDeadLetterStore:
    return connect_store(get_settings())


_sink: DeadLetterSink = StoreSink()


def use_sink(sink: DeadLetterSink) -> DeadLetterSink:
    """Send future records to `sink` (tests use this); returns the previous sink."""
    global _sink  # one process-wide destination
    previous, _sink = _sink, sink
    return previous


def hand_off(dead_letter: DeadLetter) -> None:
    try:
        _sink.record(dead_letter)
    except (redis.RedisError, OSError) as error:
{%- if cookiecutter.broker == "rabbitmq" %}
        logger.warning(
            "dead-letter store unreachable (%s): the broker's dead-letter copy of %s will be "
            "archived instead",
            error,
            dead_letter.id,
        )
{%- else %}
        logger.warning(
            "dead-letter store unreachable (%s): queueing %s for the dead-letter worker",
            error,
            dead_letter.id,
        )
        publish_record(dead_letter)
{%- endif %}
    TASKS_DEAD_LETTERED.labels(task=dead_letter.task, reason=dead_letter.reason).inc()
    logger.error(
        "dead-lettered task %s (%s): %s", dead_letter.id, dead_letter.task, dead_letter.reason
    )
