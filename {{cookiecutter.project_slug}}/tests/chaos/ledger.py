"""The ledger the chaos tests keep: one entry per task, its fate decided by its kind.

`record_entry` is loaded only into the chaos tests' workers (`--include tests.chaos.ledger`). It
counts its starts, fails the way its kind says, and applies its side effect (a count in Redis)
through the idempotency keys, so a test can check every effect happened exactly once, whatever
killed the workers in between.
"""

import os
import signal
import time
from typing import Literal

from celery import Task

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.store import connected_store
from {{ cookiecutter.package_name }}.idempotency import idempotency_keys
from {{ cookiecutter.package_name }}.retry import TRANSIENT
from {{ cookiecutter.package_name }}.tasks.base import DLQTask

MODULE = __name__

# ok: succeeds; flaky: fails twice with a retryable error, then succeeds; permanent: fails with an
# error no tier retries; poison: kills the process running it, every time.
Kind = Literal["ok", "flaky", "permanent", "poison"]
FLAKY_FAILURES = 2


class Ledger:
    """Per entry: how often its task started, and how often its side effect was applied."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.client = connected_store().client

    def key(self, field: str) -> str:
        return f"chaos:{self.name}:{field}"

    def started(self, entry_id: str) -> None:
        with self.client.pipeline() as pipeline:
            pipeline.hincrby(self.key("starts"), entry_id, 1)
            pipeline.hset(self.key("pids"), entry_id, os.getpid())
            pipeline.execute()

    def apply_effect(self, entry_id: str) -> None:
        self.client.hincrby(self.key("effects"), entry_id, 1)

    def counts(self, field: str) -> dict[str, int]:
        counts = self.client.hgetall(self.key(field))
        return {str(entry): int(count) for entry, count in counts.items()}

    def pid(self, entry_id: str) -> int | None:
        pid = self.client.hget(self.key("pids"), entry_id)
        return None if pid is None else int(pid)

    def clear(self) -> None:
        self.client.delete(*(self.key(field) for field in ("starts", "pids", "effects")))


@app.task(bind=True, base=DLQTask, shared=False, **TRANSIENT.task_options())
def record_entry(
    self: Task,  # type: ignore[type-arg]
    ledger_name: str,
    entry_id: str,
    kind: Kind,
    work_seconds: float,
) -> None:
    """Work for `work_seconds` (where a kill lands), then apply the entry's effect once."""
    ledger = Ledger(ledger_name)
    ledger.started(entry_id)
    if kind == "poison":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "flaky" and self.request.retries < FLAKY_FAILURES:
        raise ConnectionError(f"{entry_id}: flaky, fails {FLAKY_FAILURES} times")
    if kind == "permanent":
        raise ValueError(f"{entry_id}: no retry can fix this")
    time.sleep(work_seconds)
    idempotency_keys().run_once(
        f"chaos:{ledger_name}:{entry_id}", lambda: ledger.apply_effect(entry_id)
    )
