"""Where a terminal failure goes: the hand-off from a task to the dead-letter store.

`DLQTask` builds a `DeadLetter` and calls `hand_off`, which writes it to the store. If the store
can't be reached, the record is published to the `dead_letter` queue instead, and the
dead-letter worker writes it once the store is back. Only if the broker refuses it too is the
record left to the log alone.
"""

import json
import logging
from typing import Protocol

import redis
from kombu.exceptions import OperationalError

from ..metrics.dead_letters import count_dead_letter, count_store_write_failure
from .record import DeadLetter
from .store import connected_store
from .transport import publish_record

logger = logging.getLogger(__name__)


class DeadLetterSink(Protocol):
    def record(self, dead_letter: DeadLetter) -> None:
        """Keep `dead_letter`; raise if it could not be kept."""


class StoreSink:
    """Writes each record to the dead-letter store named by `DEAD_LETTER_REDIS_URL`."""

    def record(self, dead_letter: DeadLetter) -> None:
        connected_store().save(dead_letter)


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
        logger.warning(
            "dead-letter store unreachable (%s): queueing %s for the dead-letter worker",
            error,
            dead_letter.id,
        )
        count_store_write_failure()
        try:
            publish_record(dead_letter)
        except (OperationalError, OSError):
            logger.critical(
                "dead letter %s could not be kept anywhere: %s",
                dead_letter.id,
                json.dumps(dead_letter.to_storage(), default=str),
            )
            raise
    else:
        count_dead_letter(dead_letter)
    logger.error(
        "dead-lettered task %s (%s): %s", dead_letter.id, dead_letter.task, dead_letter.reason
    )
