"""Replay: publish a dead-lettered task again, once, with a fresh retry budget.

The record is claimed atomically before anything is published, so running the same replay twice,
or two replays at once, publishes once. A replayed record that fails again becomes `dead` again
with its replay count kept; `max_replays` stops endless replay loops.
"""

from dataclasses import dataclass
from typing import Literal

from celery import Celery

from .record import DeadLetter
from .store import DeadLetterStore

REPLAY_HEADER = "x-replay-of"
# Which replay of the record a message is: 0 (no header) for the original task.
REPLAYS_HEADER = "x-replays"
NOT_REPLAYABLE = frozenset({"malformed"})
NOT_CLAIMABLE = "already replayed, or over the replay limit"

Outcome = Literal["published", "skipped", "would_publish"]


@dataclass(frozen=True)
class Replayed:
    id: str
    outcome: Outcome
    detail: str = ""


def replay(
    app: Celery,
    store: DeadLetterStore,
    record: DeadLetter,
    max_replays: int | None,
    *,
    dry_run: bool = False,
) -> Replayed:
    """Publish `record`'s task again under its original id, name, args and kwargs, to its
    original queue, with `retries` reset to 0 and a header naming the original id."""
    if record.reason in NOT_REPLAYABLE:
        return Replayed(record.id, "skipped", f"a {record.reason} message has no task to run")
    if dry_run:
        if record.replayable(max_replays):
            return Replayed(record.id, "would_publish")
        return Replayed(record.id, "skipped", NOT_CLAIMABLE)
    claimed = store.claim_replay(record.id, max_replays)
    if claimed is None:
        return Replayed(record.id, "skipped", NOT_CLAIMABLE)
    try:
        app.send_task(
            claimed.task,
            args=claimed.args,
            kwargs=claimed.kwargs,
            task_id=claimed.id,
            queue=claimed.queue if claimed.queue in app.amqp.queues else None,
            retries=0,
            headers={REPLAY_HEADER: claimed.id, REPLAYS_HEADER: claimed.replays},
        )
    except Exception:
        store.release_replay(claimed.id)
        raise
    return Replayed(record.id, "published", f"replay {claimed.replays}")
