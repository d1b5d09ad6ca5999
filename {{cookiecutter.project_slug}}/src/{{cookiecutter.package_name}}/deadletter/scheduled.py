"""Scheduled replay: celery beat replays dead letters of chosen reasons once they are old enough.

Every `SCHEDULED_REPLAY_INTERVAL` seconds beat publishes `replay_due` with the schedule's reasons,
delay and batch size. The task replays, newest failure first, up to `batch` records that are still
`dead`, whose reason is one of `reasons` and whose last failure is at least `delay` seconds old,
through `replay()`: the store's claim keeps each replay to one publish and enforces
`DEAD_LETTER_MAX_REPLAYS`, so a record that keeps failing stops being replayed. A record whose
original arguments can't be recovered (`originals.py`) stays `dead` whatever runs, so it is left
out of the batch and counted apart: otherwise enough of them would fill every batch and hold back
every older record.

Where it runs: on the work queue (`default`), in a main worker, like any other task. Not on
`dead_letter`: whatever reaches that queue through the `dlx` exchange is archived, never run,
and the dead-letter worker is kept to archiving so that it never runs business code nor waits
behind anything. A run that is still queued when the next one is due expires instead of piling up.
"""

import heapq
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from celery import Task, shared_task
from cryptography.fernet import MultiFernet

from ..settings import Settings, get_settings
from .originals import OriginalsUnavailableError, configured_keyring
from .record import DeadLetter, Reason, parse_time
from .replay import replay
from .store import Query, connected_store

logger = logging.getLogger(__name__)

TASK_NAME = f"{__name__}.replay_due"


@dataclass(frozen=True)
class Selection:
    """What one run replays, the due records the replay cap holds back, those whose original
    arguments can't be recovered, and whether more records were due than the batch holds."""

    due: list[DeadLetter]
    over_cap: list[DeadLetter]
    unrecoverable: list[DeadLetter]
    more: bool


def select_due(
    records: Iterable[DeadLetter],
    cutoff: datetime,
    max_replays: int,
    batch: int,
    *,
    keys: MultiFernet | None,
) -> Selection:
    """From `records`, those waiting for a decision (`dead`) whose last failure is no later than
    `cutoff`: the first `batch` of them under `max_replays` whose originals `keys` recover, those
    at or over the cap, and those whose originals can't be recovered."""
    due: list[DeadLetter] = []
    over_cap: list[DeadLetter] = []
    unrecoverable: list[DeadLetter] = []
    for record in records:
        if record.status != "dead" or parse_time(record.last_failed_at) > cutoff:
            continue
        if record.replays >= max_replays:
            over_cap.append(record)
        elif not recoverable(record, keys):
            unrecoverable.append(record)
        elif len(due) == batch:
            return Selection(due, over_cap, unrecoverable, more=True)
        else:
            due.append(record)
    return Selection(due, over_cap, unrecoverable, more=False)


def recoverable(record: DeadLetter, keys: MultiFernet | None) -> bool:
    """Whether `keys` recover the arguments `record`'s task was first called with."""
    try:
        record.original_arguments(keys)
    except OriginalsUnavailableError:
        return False
    return True


def candidates(
    iterate: Callable[[Query], Iterable[DeadLetter]], reasons: Iterable[Reason]
) -> Iterator[DeadLetter]:
    """The records of `reasons`, newest failure first, merged from one newest-first `iterate`
    (a store's) per reason."""
    return heapq.merge(
        *(iterate(Query(reason=reason)) for reason in sorted(set(reasons))),
        key=lambda record: parse_time(record.last_failed_at),
        reverse=True,
    )


@shared_task(bind=True, name=TASK_NAME, ignore_result=True)
def replay_due(self: Task, reasons: list[Reason], delay: int, batch: int) -> None:  # type: ignore[type-arg]
    """Replay up to `batch` records of `reasons` that failed at least `delay` seconds ago."""
    settings = get_settings()
    max_replays = settings.dead_letter_max_replays
    cutoff = datetime.now(UTC) - timedelta(seconds=delay)
    try:
        store = connected_store()
        selection = select_due(
            candidates(store.iterate, reasons),
            cutoff,
            max_replays,
            batch,
            keys=configured_keyring(),
        )
        outcomes = [replay(self.app, store, record, max_replays) for record in selection.due]
    except (redis.RedisError, OSError) as error:
        logger.warning("scheduled replay skipped, dead-letter store unreachable: %s", error)
        return
    for record, outcome in zip(selection.due, outcomes, strict=True):
        logger.info(
            "scheduled replay of %s (%s, %s): %s %s",
            record.id,
            record.task,
            record.reason,
            outcome.outcome,
            outcome.detail,
        )
    logger.info(
        "scheduled replay: published %d of %d due; skipped %d over DEAD_LETTER_MAX_REPLAYS (%d)"
        " and %d whose original arguments can't be recovered%s",
        sum(outcome.outcome == "published" for outcome in outcomes),
        len(selection.due),
        len(selection.over_cap),
        max_replays,
        len(selection.unrecoverable),
        "; more are due than the batch holds" if selection.more else "",
    )


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The beat entry for `replay_due`, from the SCHEDULED_REPLAY_* settings."""
    interval = float(settings.scheduled_replay_interval)
    return {
        "replay-dead-letters": {
            "task": TASK_NAME,
            "schedule": interval,
            "kwargs": {
                "reasons": sorted(settings.scheduled_replay_reasons),
                "delay": settings.scheduled_replay_delay,
                "batch": settings.scheduled_replay_batch,
            },
            "options": {"expires": interval},
        }
    }
