"""The worker's consumer: dead letters are archived, never dispatched to business code.

A dead letter is a raw task message. Dispatched like any other, it would run the task that
already failed, and a second failure would drop it: nothing dead-letters the `dead_letter`
queue. This consumer writes each one to the dead-letter store and acknowledges it only once the
store has it; while the store is unreachable the message stays unacknowledged and the write is
retried.
{%- if cookiecutter.broker == "redis" %}

Redis has no dead-letter exchange and no delivery limit, so this consumer also records an unknown
task before Celery rejects (deletes) it, and counts deliveries of each message: one delivered
more than `REDIS_DELIVERY_LIMIT` times (a poison message killing its worker) is dead-lettered
with reason `delivery_limit` instead of run again. Only redeliveries are counted in Redis: kombu
marks every message it returns to a queue `redelivered` (after worker loss, the visibility
timeout, a shutdown), so a first delivery, nearly every one, costs no round trip.
{%- endif %}
"""

import logging
from collections.abc import Callable
from typing import Any

import redis
from celery.worker.consumer import Consumer
from kombu.message import Message

{% if cookiecutter.broker == "redis" -%}
from ..settings import get_settings
{% endif -%}
from ..topology import DEAD_LETTER_EXCHANGE
from .archive import archive{% if cookiecutter.broker == "redis" %}, record_from_task_message{% endif %}
{%- if cookiecutter.broker == "redis" %}
from .handoff import hand_off
from .replay import REPLAYS_HEADER
{%- endif %}
from .store import connected_store

logger = logging.getLogger(__name__)

MessageHandler = Callable[[Message], Any]
ARCHIVE_RETRY_SECONDS = 5.0


def is_dead_letter(message: Message) -> bool:
    return bool(message.delivery_info.get("exchange") == DEAD_LETTER_EXCHANGE.name)


class DeadLetterConsumer(Consumer):
    """Celery's consumer, except that dead letters are archived instead of dispatched."""

    def create_task_handler(self, *args: Any, **kwargs: Any) -> MessageHandler:
        dispatch: MessageHandler = super().create_task_handler(*args, **kwargs)

        def on_message(message: Message) -> Any:
            if is_dead_letter(message):
                self.archive(message)
                return None
{%- if cookiecutter.broker == "redis" %}
            if self.over_delivery_limit(message):
                return None
{%- endif %}
            return dispatch(message)

        return on_message

    def archive(self, message: Message) -> None:
        """Archive and acknowledge `message`, or try again later if the store is unreachable."""
        try:
            record = archive(message, connected_store(), self.app.tasks)
        except (redis.RedisError, OSError) as error:
            logger.warning(
                "dead-letter store unreachable (%s): keeping %s unacknowledged, retrying in %s s",
                error,
                (message.headers or {}).get("id"),
                ARCHIVE_RETRY_SECONDS,
            )
            self.timer.call_after(ARCHIVE_RETRY_SECONDS, self.archive, (message,))
            return
        message.ack()
        logger.info("archived dead letter %s (%s): %s", record.id, record.task, record.reason)

    def on_decode_error(self, message: Message, exc: Exception) -> None:
{%- if cookiecutter.broker == "rabbitmq" %}
        """Celery acknowledges (drops) an undecodable message; reject it to the dead-letter
        exchange instead, where it is archived with reason `malformed`."""
        logger.error("undecodable message %s: %s", (message.headers or {}).get("id"), exc)
        message.reject(requeue=False)
{%- else %}
        """Celery acknowledges (drops) an undecodable message; record it as `malformed` first."""
        hand_off(record_from_task_message(message, self.app.tasks, reason="malformed"))
        super().on_decode_error(message, exc)
{%- endif %}
{%- if cookiecutter.broker == "redis" %}

    def over_delivery_limit(self, message: Message) -> bool:
        """Count a redelivery; past the limit, dead-letter the message and acknowledge it."""
        if not message.delivery_info.get("redelivered"):
            return False
        headers = message.headers or {}
        try:
            deliveries = 1 + connected_store().count_redelivery(
                str(headers.get("id")),
                int(headers.get("retries") or 0),
                int(headers.get(REPLAYS_HEADER) or 0),
            )
        except (redis.RedisError, OSError) as error:
            logger.warning("delivery counter unavailable (%s): delivering uncounted", error)
            return False
        if deliveries <= get_settings().redis_delivery_limit:
            return False
        hand_off(record_from_task_message(message, self.app.tasks, reason="delivery_limit"))
        message.ack()
        return True

    def on_unknown_task(self, body: Any, message: Message, exc: Exception) -> None:
        """Record the unknown task: the rejection that follows deletes it on Redis."""
        hand_off(record_from_task_message(message, self.app.tasks))
        super().on_unknown_task(body, message, exc)
{%- endif %}
