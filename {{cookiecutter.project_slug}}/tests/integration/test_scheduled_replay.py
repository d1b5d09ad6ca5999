"""Scheduled replay with a real `celery beat` and a real worker: a due record is replayed once,
and a record over the replay cap never is."""

import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.deadletter.store import Query, RedisDeadLetterStore
from {{ cookiecutter.package_name }}.settings import get_settings

from .faulty_tasks import attempts, new_record, syncs_record
from .test_replay import exhaust, replayed_to_success
from .test_store import dead_letter
from .workers import STOP_WITHIN, WorkerProcess, celery_command, wait_for

# Beat asks for a run every second, for records that failed at least two seconds ago.
SCHEDULE = {
    "SCHEDULED_REPLAY_REASONS": "exhausted",
    "SCHEDULED_REPLAY_DELAY": "2",
    "SCHEDULED_REPLAY_INTERVAL": "1",
    "SCHEDULED_REPLAY_BATCH": "10",
}
RUN_SUMMARY = "scheduled replay: published"


@pytest.fixture(scope="module")
def beat(
    worker: WorkerProcess,
    dead_letter_worker: WorkerProcess,
    store: RedisDeadLetterStore,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """`celery beat` on SCHEDULE, started once earlier tests' `exhausted` records are gone (this
    module owns them); yields its log. The dead-letter worker runs too, so that RabbitMQ's copy of
    a failure is archived long before the record is due."""
    for record in list(store.iterate(Query(reason="exhausted"))):
        store.delete(record.id)
    directory = tmp_path_factory.mktemp("beat")
    log_path = directory / "beat.log"
    command = celery_command("beat", f"--schedule={directory / 'schedule'}")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **SCHEDULE}
        )
    try:
        wait_for(lambda: "Sending due task" in log_path.read_text(), 30, "beat sending a run")
        yield log_path
    finally:
        process.terminate()
        process.wait(STOP_WITHIN)


def test_beat_replays_a_due_record_once_and_none_over_the_cap(
    beat: Path, worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    max_replays = get_settings().dead_letter_max_replays
    never_due = new_record(outage_for=0)
    over_cap = replace(
        dead_letter(task=syncs_record.name, age_days=1), args=[never_due], replays=max_replays
    )
    store.save(over_cap)
    due = exhaust(store)
    # Three failed runs, then the replay, which the service answers.
    wait_for(lambda: replayed_to_success(due), 30, "scheduled replay of the due record")
    runs = worker.log().count(RUN_SUMMARY)
    wait_for(lambda: worker.log().count(RUN_SUMMARY) >= runs + 2, 30, "two more scheduled runs")
    assert replayed_to_success(due)
    replayed = store.get(due.id)
    assert replayed is not None
    assert (replayed.status, replayed.replays) == ("replayed", 1)
    assert store.get(over_cap.id) == over_cap
    assert attempts(never_due) == []
    assert f"skipped 1 over DEAD_LETTER_MAX_REPLAYS ({max_replays})" in worker.log()
