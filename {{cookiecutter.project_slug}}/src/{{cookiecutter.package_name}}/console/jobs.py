"""Group replays the console runs in the background, so a page can show their progress live.

Each runs `replay_many` (deadletter/bulk.py), the code behind `dlq replay --all`, in a thread of
the console's process, and leaves the same audit entry. Cancelling sets its stop event: the record
in hand is finished, none is started after. The board lives in this process: serve the console
from one process (the chart runs one replica).
"""

import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from ..deadletter.bulk import BulkOptions, Tally, audit_entry, replay_many
from ..deadletter.record import now
from ..deadletter.store import DeadLetterStore, Query
from .credentials import Role

JOBS_KEPT = 100

logger = logging.getLogger(__name__)


@dataclass
class ReplayJob:
    """One group replay: what it takes, how far it got, and how to stop it."""

    id: str
    group: str
    options: BulkOptions
    started_by: Role
    started_at: str = field(default_factory=now)
    tally: Tally | None = None  # None while the records are being selected
    finished_at: str | None = None
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def status(self) -> dict[str, Any]:
        """What the progress poll shows."""
        tally = self.tally
        return {
            "id": self.id,
            "group": self.group,
            "rate": self.options.rate,
            "started_at": self.started_at,
            "finished": self.finished_at is not None,
            "finished_at": self.finished_at,
            "cancelling": self.stop.is_set() and self.finished_at is None,
            "error": self.error,
            "selected": tally.selected if tally else None,
            "done": tally.published + tally.skipped + tally.refused if tally else 0,
            "published": tally.published if tally else 0,
            "skipped": tally.skipped if tally else 0,
            "refused": tally.refused if tally else 0,
            "interrupted": tally.interrupted if tally else False,
        }


class ReplayBoard:
    """The group replays started in this process, newest last."""

    def __init__(self, app: Celery, store: DeadLetterStore) -> None:
        self.app = app
        self.store = store
        self.jobs: dict[str, ReplayJob] = {}
        self.lock = threading.Lock()

    def start(self, group: str, options: BulkOptions, started_by: Role) -> ReplayJob:
        job = ReplayJob(id=uuid.uuid4().hex, group=group, options=options, started_by=started_by)
        with self.lock:
            self.jobs[job.id] = job
            for finished in [j for j in self.jobs.values() if j.finished_at][:-JOBS_KEPT]:
                del self.jobs[finished.id]
        threading.Thread(target=self.run, args=(job,), name=f"replay-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> ReplayJob | None:
        with self.lock:
            return self.jobs.get(job_id)

    def running(self) -> list[ReplayJob]:
        with self.lock:
            return [job for job in self.jobs.values() if job.finished_at is None]

    def run(self, job: ReplayJob) -> None:
        try:
            records = [
                record
                for record in self.store.iterate(Query(group=job.group))
                if record.status == "dead"
            ]
            job.tally = Tally(selected=len(records))
            replay_many(self.app, self.store, records, job.options, job.tally, job.stop)
        except Exception as error:  # shown on the job's page; each record is dead or replayed
            logger.exception("group replay %s of group %s failed", job.id, job.group)
            job.error = f"{type(error).__name__}: {error}"
        finally:
            if job.tally is not None:
                entry = audit_entry({"group": job.group}, job.options, job.tally)
                self.store.add_history({**entry, "by": f"console {job.started_by}"})
            job.finished_at = now()
