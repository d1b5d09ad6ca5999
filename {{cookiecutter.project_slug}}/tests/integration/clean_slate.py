"""Scenarios that count what they caused start with no waiting work and no dead letters."""

from kombu import Connection

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.store import Query, RedisDeadLetterStore
from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_QUEUE, WORK_QUEUE


def empty_queues_and_store(store: RedisDeadLetterStore) -> None:
    """Purge the work and dead-letter queues (declared first) and delete every record."""
    with Connection(app.conf.broker_url) as connection, connection.channel() as channel:
        for name in (WORK_QUEUE, DEAD_LETTER_QUEUE):
            queue = app.amqp.queues[name].bind(channel)
            queue.declare()
            queue.purge()
    store.delete_ids([record.id for record in store.iterate(Query())])
