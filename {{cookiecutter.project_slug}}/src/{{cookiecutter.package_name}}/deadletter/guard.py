"""Keep dead letters away from business code.

A dead letter is a raw task message. Dispatched like any other, it would run the task that
already failed, and a second failure would drop it: nothing dead-letters the `dead_letter`
queue. This consumer never dispatches a message that came through the dead-letter exchange;
it holds it unacknowledged, so it stays on the broker for archiving and replay.
"""

import logging
from collections.abc import Callable
from typing import Any

from celery.worker.consumer import Consumer
from kombu.message import Message

from ..topology import DEAD_LETTER_EXCHANGE

logger = logging.getLogger(__name__)

MessageHandler = Callable[[Message], Any]


def is_dead_letter(message: Message) -> bool:
    return bool(message.delivery_info.get("exchange") == DEAD_LETTER_EXCHANGE.name)


class DeadLetterGuardConsumer(Consumer):
    """Celery's consumer, except that dead letters are held instead of dispatched."""

    def create_task_handler(self, *args: Any, **kwargs: Any) -> MessageHandler:
        dispatch: MessageHandler = super().create_task_handler(*args, **kwargs)

        def on_message(message: Message) -> Any:
            if is_dead_letter(message):
                logger.warning(
                    "holding dead letter %s (task %s) unacknowledged: it is never executed",
                    message.headers.get("id"),
                    message.headers.get("task"),
                )
                return None
            return dispatch(message)

        return on_message
