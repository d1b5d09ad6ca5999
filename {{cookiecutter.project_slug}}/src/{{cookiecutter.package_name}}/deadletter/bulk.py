"""Replay many records as one operation: paced, interruptible, and recorded.

`replay()` claims a record and publishes it in one step that undoes the claim if the publish
fails. While a bulk replay runs, SIGINT (Ctrl-C) and SIGTERM only ask it to stop: the record in
hand is finished, none is started after, so every record is either replayed or still `dead`, and
running the same command again replays the rest, each once. Each run leaves an audit entry in the
store (`dlq history`).
"""

import getpass
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import FrameType
from typing import Any

from celery import Celery

from .record import DeadLetter, now
from .replay import Replayed, replay
from .store import DeadLetterStore

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class BulkOptions:
    """How to replay: `rate` in tasks per second (None: as fast as the broker takes them),
    `queue` instead of each record's own (None: its own), `max_replays` (None: no limit)."""

    max_replays: int | None
    rate: float | None = None
    queue: str | None = None
    dry_run: bool = False


@dataclass
class Tally:
    """What a bulk replay did, so far."""

    selected: int
    published: int = 0
    skipped: int = 0
    refused: int = 0
    interrupted: bool = False
    refusals: list[str] = field(default_factory=list)

    def add(self, result: Replayed) -> None:
        if result.outcome in ("published", "would_publish"):
            self.published += 1
        elif result.outcome == "refused":
            self.refused += 1
            self.refusals.append(result.id)
        else:
            self.skipped += 1


@contextmanager
def stop_requests() -> Iterator[threading.Event]:
    """An event set when SIGINT or SIGTERM arrives, in place of their usual handlers."""
    requested = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        requested.set()

    previous = {signum: signal.signal(signum, request_stop) for signum in STOPPING_SIGNALS}
    try:
        yield requested
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def replay_many(
    app: Celery,
    store: DeadLetterStore,
    records: Iterable[DeadLetter],
    options: BulkOptions,
    tally: Tally,
    stop: threading.Event,
    on_result: Callable[[Replayed], None] = lambda _: None,
) -> Tally:
    """Replay `records` in order at `options.rate`, until done or `stop` is set."""
    interval = 1 / options.rate if options.rate else 0.0
    for position, record in enumerate(records):
        if stop.is_set() or (position and stop.wait(interval)):
            tally.interrupted = True
            break
        result = replay(
            app, store, record, options.max_replays, dry_run=options.dry_run, queue=options.queue
        )
        tally.add(result)
        on_result(result)
    return tally


def audit_entry(selection: dict[str, Any], options: BulkOptions, tally: Tally) -> dict[str, Any]:
    """The audit entry of one bulk replay: when, who, what was selected, and what happened."""
    return {
        "at": now(),
        "by": getpass.getuser(),
        "selection": {name: value for name, value in selection.items() if value},
        "queue": options.queue,
        "rate": options.rate,
        "dry_run": options.dry_run,
        **{name: value for name, value in asdict(tally).items() if name != "refusals"},
    }
