"""Counting dead letters where the records are made: the task hand-off and the dead-letter
worker's archive call these, since no Celery signal marks a dead letter."""

from ..deadletter.record import DeadLetter
from . import definitions as m
from .signals import UNKNOWN_TASK, queue_name


def count_dead_letter(dead_letter: DeadLetter) -> None:
    """A dead-letter record was created."""
    # An unknown task's name is whatever the message said: not a bounded label value.
    name = UNKNOWN_TASK if dead_letter.reason == "unknown_task" else dead_letter.task
    # A record keeps the routing key it came with, a delayed retry's prefix included.
    queue = queue_name({"routing_key": dead_letter.queue})
    m.DEAD_LETTERS.labels(name, queue, dead_letter.reason).inc()
    if dead_letter.reason == "delivery_limit":
        m.DELIVERY_LIMIT_HITS.labels(name, queue).inc()


def count_store_write_failure() -> None:
    """The store refused a record, which went down the fallback publish path."""
    m.store_write_failures().inc()
