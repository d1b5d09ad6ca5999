"""Retention for the dead-letter store, applied by the dedicated dead-letter worker.

Every hour (and once at start) the worker that consumes `dead_letter` deletes records older than
`DEAD_LETTER_MAX_AGE_DAYS`, then the oldest beyond `DEAD_LETTER_MAX_RECORDS`, and logs what it
deleted. Other workers don't trim: one trimmer is enough. It also puts in their failure groups the
records that a version of the service without group indexes wrote (store.py), so `--group` and
the console find them after an upgrade.
"""

import logging
from datetime import timedelta
from typing import Any, cast

import redis
from celery import bootsteps
from celery.worker import WorkController
from kombu.asynchronous.timer import Timer

from ..settings import get_settings
from ..topology import DEAD_LETTER_QUEUE
from .store import connected_store

logger = logging.getLogger(__name__)

TRIM_EVERY_SECONDS = 3600.0


def trim_store() -> None:
    settings = get_settings()
    store = connected_store()
    try:
        trimmed = store.trim(
            settings.dead_letter_max_records, timedelta(days=settings.dead_letter_max_age_days)
        )
        grouped = store.ensure_groups_indexed()
    except (redis.RedisError, OSError) as error:
        logger.warning("dead-letter retention skipped, store unreachable: %s", error)
        return
    if grouped:
        logger.info("dead-letter retention put %d earlier record(s) in failure groups", grouped)
    if trimmed.too_old or trimmed.over_count:
        logger.warning(
            "dead-letter retention deleted %d record(s) older than %d days and %d beyond %d",
            trimmed.too_old,
            settings.dead_letter_max_age_days,
            trimmed.over_count,
            settings.dead_letter_max_records,
        )


class Retention(bootsteps.StartStopStep):
    """Runs `trim_store` on the worker's timer, in the dead-letter worker only."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: WorkController, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.timer_entry: Any = None

    def include_if(self, worker: WorkController) -> bool:
        return set(worker.app.amqp.queues.consume_from) == {DEAD_LETTER_QUEUE}

    def start(self, worker: WorkController) -> None:
        trim_store()
        timer = cast(Timer, worker.timer)  # set: this step requires the Timer step
        self.timer_entry = timer.call_repeatedly(TRIM_EVERY_SECONDS, trim_store)

    def stop(self, worker: WorkController) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
