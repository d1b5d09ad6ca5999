"""Keep task arguments out of the lines Celery logs when it refuses a message.

When a worker receives a task nobody registered, a message that breaks the task protocol, a body
it can't decode, or something that isn't a task message at all, Celery's consumer logs the whole
body, and for an unknown task the headers too, whose `argsrepr` and `kwargsrepr` repeat the
arguments: unredacted, whatever `LOG_REDACT_KEYS` says, into the log store. Each of those messages
becomes a dead-letter record that shows its arguments redacted, so the log line needs only the
body's size. `WithheldBodies`, on the consumer's logger, replaces the body (and those two headers)
and leaves the rest of each line as Celery wrote it.
"""

import logging
from collections.abc import Mapping
from typing import Any

# celery-types doesn't declare the consumer module's messages.
from celery.worker.consumer.consumer import (  # type: ignore[attr-defined]
    INVALID_TASK_ERROR,
    MESSAGE_DECODE_ERROR,
    UNKNOWN_FORMAT,
    UNKNOWN_TASK_ERROR,
)

CONSUMER_LOGGER = "celery.worker.consumer.consumer"
ARGUMENT_HEADERS = ("argsrepr", "kwargsrepr")
WITHHELD = "[withheld: may hold secrets; `dlq show <id>` shows the arguments redacted]"

# Each refusal Celery logs, and the positions of the body and the headers among its arguments.
REFUSALS: dict[str, tuple[int, int | None]] = {
    UNKNOWN_TASK_ERROR: (1, 2),
    INVALID_TASK_ERROR: (1, None),
    MESSAGE_DECODE_ERROR: (4, 3),
    UNKNOWN_FORMAT: (0, None),
}


def without_arguments(headers: Any) -> Any:
    """The headers without the two that repeat the arguments; a header string (Celery logs some
    already formatted) is withheld whole."""
    if isinstance(headers, Mapping):
        return {key: value for key, value in headers.items() if key not in ARGUMENT_HEADERS}
    return WITHHELD


class WithheldBodies(logging.Filter):
    """Rewrites the consumer's refusal lines; every other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        positions = REFUSALS.get(str(record.msg))
        if positions is None or not isinstance(record.args, tuple):
            return True
        body, headers = positions
        arguments = list(record.args)
        arguments[body] = WITHHELD
        if headers is not None:
            arguments[headers] = without_arguments(arguments[headers])
        record.args = tuple(arguments)
        return True


def withhold_refused_bodies() -> None:
    """Install the filter on Celery's consumer logger (once, however often this runs)."""
    logger = logging.getLogger(CONSUMER_LOGGER)
    if not any(isinstance(existing, WithheldBodies) for existing in logger.filters):
        logger.addFilter(WithheldBodies())
