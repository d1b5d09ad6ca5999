"""Where a terminal failure goes: the hand-off from a task to the dead-letter sink.

`DLQTask` builds a `DeadLetter` and calls `hand_off`. The sink decides where the record lives;
until the dead-letter store is configured, the default sink writes it to the log.
"""

import json
import logging
from typing import Protocol

from ..metrics import TASKS_DEAD_LETTERED
from .record import DeadLetter

logger = logging.getLogger(__name__)


class DeadLetterSink(Protocol):
    def record(self, dead_letter: DeadLetter) -> None:
        """Keep `dead_letter`; raise if it could not be kept."""


class LogSink:
    """Writes each record to the log as one JSON line."""

    def record(self, dead_letter: DeadLetter) -> None:
        logger.error("dead letter %s", json.dumps(dead_letter.to_dict(), default=str))


_sink: DeadLetterSink = LogSink()


def use_sink(sink: DeadLetterSink) -> DeadLetterSink:
    """Send future records to `sink`; returns the previous sink."""
    global _sink  # one process-wide destination, swapped at start-up or in tests
    previous, _sink = _sink, sink
    return previous


def hand_off(dead_letter: DeadLetter) -> None:
    _sink.record(dead_letter)
    TASKS_DEAD_LETTERED.labels(task=dead_letter.task, reason=dead_letter.reason).inc()
