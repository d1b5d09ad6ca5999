"""Counting dead letters where the records are made: the task hand-off and the dead-letter
worker's archive call these, since no Celery signal marks a dead letter."""

from ..deadletter.record import DeadLetter, Reason
from ..topology import WORK_QUEUE, queue_from_routing_key
from . import definitions as m
from .signals import UNKNOWN_TASK

# Reasons whose task name is whatever the message's header said, not a task this service has:
# as a label value it would be unbounded, and chosen by whoever sent the message.
NAMELESS_REASONS: frozenset[Reason] = frozenset({"unknown_task", "malformed"})


def count_dead_letter(dead_letter: DeadLetter) -> None:
    """A dead-letter record was created."""
    name = UNKNOWN_TASK if dead_letter.reason in NAMELESS_REASONS else dead_letter.task
    # A record keeps the routing key it came with, a delayed retry's prefix included.
    queue = queue_from_routing_key(dead_letter.queue) or WORK_QUEUE
    m.DEAD_LETTERS.labels(name, queue, dead_letter.reason).inc()
    if dead_letter.reason == "delivery_limit":
        m.DELIVERY_LIMIT_HITS.labels(name, queue).inc()


def count_store_write_failure() -> None:
    """The store refused a record, which went down the fallback publish path."""
    m.store_write_failures().inc()
