"""Replay: publish a dead-lettered task again, once, with a fresh retry budget.

The record is claimed atomically before anything is published, so running the same replay twice,
or two replays at once, publishes once. A replayed record that fails again becomes `dead` again
with its replay count kept; `max_replays` stops endless replay loops.

Replay is faithful: the task gets the arguments it was first called with, unsealed from the record
(`originals.py`), never the redacted ones people see. A record whose originals can't be recovered
is refused, with the reason, and left `dead`.
"""

from dataclasses import dataclass
from typing import Literal

from celery import Celery

from .originals import OriginalsUnavailableError, configured_keyring
from .record import DeadLetter
from .store import DeadLetterStore

REPLAY_HEADER = "x-replay-of"
# Which replay of the record a message is: 0 (no header) for the original task.
REPLAYS_HEADER = "x-replays"
NOT_REPLAYABLE = frozenset({"malformed"})
NOT_CLAIMABLE = "already replayed, or over the replay limit"

Outcome = Literal["published", "skipped", "refused", "would_publish"]


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
    queue: str | None = None,
) -> Replayed:
    """Publish `record`'s task again under its original id, name and original args and kwargs,
    to `queue` (default: its original queue), with `retries` reset to 0 and a header naming the
    original id."""
    if record.reason in NOT_REPLAYABLE:
        return Replayed(record.id, "skipped", f"a {record.reason} message has no task to run")
    try:
        record.original_arguments(configured_keyring())
    except OriginalsUnavailableError as why:
        return Replayed(record.id, "refused", str(why))
    if dry_run:
        if record.replayable(max_replays):
            return Replayed(record.id, "would_publish")
        return Replayed(record.id, "skipped", NOT_CLAIMABLE)
    claimed = store.claim_replay(record.id, max_replays)
    if claimed is None:
        return Replayed(record.id, "skipped", NOT_CLAIMABLE)
    original_queue = claimed.queue if claimed.queue in app.amqp.queues else None
    try:
        arguments = claimed.original_arguments(configured_keyring())
        app.send_task(
            claimed.task,
            args=arguments.args,
            kwargs=arguments.kwargs,
            task_id=claimed.id,
            queue=queue or original_queue,
            retries=0,
            headers={REPLAY_HEADER: claimed.id, REPLAYS_HEADER: claimed.replays},
        )
    except OriginalsUnavailableError as why:  # it failed again, without originals, since the check
        store.release_replay(claimed.id)
        return Replayed(record.id, "refused", str(why))
    except BaseException:  # an interrupt too: never leave a claimed record unpublished
        store.release_replay(claimed.id)
        raise
    return Replayed(record.id, "published", f"replay {claimed.replays}")
