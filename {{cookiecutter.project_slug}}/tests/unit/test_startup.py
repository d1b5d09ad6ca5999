"""Only the dedicated dead-letter worker consumes dead letters."""

from celery.app.amqp import Queues

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.startup import keep_off_dead_letters
from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_QUEUE, WORK_QUEUE


def declared_queues() -> Queues:
    return Queues(list(app.amqp.queues.values()), create_missing=False)


def test_a_worker_without_queue_selection_leaves_dead_letters_alone() -> None:
    queues = declared_queues()
    keep_off_dead_letters(queues)
    assert set(queues.consume_from) == {WORK_QUEUE}


def test_the_dedicated_worker_keeps_its_queue() -> None:
    queues = declared_queues()
    queues.select([DEAD_LETTER_QUEUE])
    keep_off_dead_letters(queues)
    assert set(queues.consume_from) == {DEAD_LETTER_QUEUE}
