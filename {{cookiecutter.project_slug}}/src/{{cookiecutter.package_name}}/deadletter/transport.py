"""Dead-letter records travelling as messages on the `dead_letter` queue.

When the store is unreachable at the moment a task fails, its record is published here and the
dead-letter worker writes it to the store later. Such messages carry the header
`x-dead-letter-record` so the worker can tell them from raw task messages.
"""

from typing import Any

from celery import current_app

from ..topology import DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE
from .record import DeadLetter

RECORD_HEADER = "x-dead-letter-record"


def publish_record(dead_letter: DeadLetter) -> None:
    """Queue `dead_letter` for the dead-letter worker; raises if the broker refuses it."""
    app = current_app
    with app.producer_or_acquire() as producer:
        producer.publish(
            dead_letter.to_storage(),
            exchange=DEAD_LETTER_EXCHANGE,
            routing_key=DEAD_LETTER_QUEUE,
            serializer="json",
            headers={RECORD_HEADER: "1", "id": dead_letter.id},
            delivery_mode=2,
            retry=True,
            retry_policy={"max_retries": 3},
            declare=[app.amqp.queues[DEAD_LETTER_QUEUE]],
        )


def is_record_message(headers: dict[str, Any] | None) -> bool:
    return bool(headers and RECORD_HEADER in headers)
