"""The ledger test: hundreds of tasks of every kind, while workers are SIGKILLed and the broker
restarts. Each task ends as exactly one of: its effect applied once, or one dead-letter record
with the reason its kind calls for. Nothing is lost and no effect happens twice.
"""

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from kombu.exceptions import OperationalError

from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore

from ..integration.workers import WorkerProcess, wait_for
from .broker import RestartableBroker
from .conftest import Publisher, Workers, report
from .ledger import Kind, Ledger

SEED = 20261121
MIX: dict[Kind, int] = {"ok": 405, "flaky": 50, "permanent": 40, "poison": 5}
# What each kind must end as: None for its effect applied once, else its dead-letter reason.
EXPECTED: dict[Kind, str | None] = {
    "ok": None,
    "flaky": None,
    "permanent": "non_retryable",
    "poison": "delivery_limit",
}
# Entries started when each fault strikes.
WORKER_KILLS_AT = (60, 260, 360)
BROKER_RESTART_AT = 160
PUBLISH_ATTEMPTS = 30
SETTLES_WITHIN = 240.0


def planned_entries(ledger_name: str) -> list[tuple[str, Kind, float]]:
    """The seeded plan: (entry id, kind, seconds of work) in publishing order. The ids are this
    run's own, so no record or key of an earlier run can count."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible plan, not a secret
    kinds = [kind for kind, count in MIX.items() for _ in range(count)]
    rng.shuffle(kinds)
    return [
        (f"{ledger_name}-{index:04d}", kind, rng.uniform(0.05, 0.2))
        for index, kind in enumerate(kinds)
    ]


def publish_all(publisher: Publisher, plan: list[tuple[str, Kind, float]]) -> None:
    """Publish the plan as a careful caller would: a publish that raises is sent again (under the
    same id) until the broker confirms it."""
    for entry_id, kind, work_seconds in plan:
        for attempt in range(PUBLISH_ATTEMPTS):
            try:
                publisher.publish(entry_id, kind, work_seconds)
                break
            except OperationalError:
                if attempt == PUBLISH_ATTEMPTS - 1:
                    raise
                time.sleep(1)


def wait_until_started(the_ledger: Ledger, count: int) -> None:
    wait_for(
        lambda: len(the_ledger.counts("starts")) >= count,
        within=SETTLES_WITHIN,
        what=f"{count} entries started",
    )


def replace_a_worker(workers: Workers, running: list[WorkerProcess]) -> None:
    """SIGKILL the oldest running worker, whole, and start another in its place."""
    running.pop(0).kill()
    running.append(workers.start())


def test_every_task_ends_exactly_once_through_kills_and_a_broker_restart(
    workers: Workers,
    publisher: Publisher,
    the_ledger: Ledger,
    chaos_broker: RestartableBroker,
    store: RedisDeadLetterStore,
) -> None:
    plan = planned_entries(the_ledger.name)
    running = [workers.start(), workers.start()]
    workers.start_dead_letter_worker()
    started_at = time.monotonic()
    faults = sorted(
        [(at, "worker kill") for at in WORKER_KILLS_AT] + [(BROKER_RESTART_AT, "broker restart")]
    )
    with ThreadPoolExecutor(max_workers=1) as executor:
        publishing = executor.submit(publish_all, publisher, plan)
        for at, fault in faults:
            wait_until_started(the_ledger, at)
            if fault == "worker kill":
                replace_a_worker(workers, running)
            else:
                chaos_broker.restart()
        publishing.result(timeout=SETTLES_WITHIN)

    def outcomes() -> dict[str, str]:
        effects = the_ledger.counts("effects")
        found = {entry_id: "applied" for entry_id in effects}
        records = store.load([entry_id for entry_id, _, _ in plan])
        found.update({record.id: record.reason for record in records})
        return found

    def unended() -> str:
        ended, starts = outcomes(), the_ledger.counts("starts")
        left = [(entry_id, kind) for entry_id, kind, _ in plan if entry_id not in ended]
        return "not ended (id, kind, runs started): " + ", ".join(
            f"{entry_id} {kind} {starts.get(entry_id, 0)}" for entry_id, kind in left[:20]
        )

    wait_for(
        lambda: len(outcomes()) == len(plan),
        within=SETTLES_WITHIN,
        what="every entry ended",
        explain=unended,
    )
    effects = the_ledger.counts("effects")
    ended = outcomes()
    tallies = Counter(ended.values())
    # Entries that run once unless a fault cuts them short: the faults must have hit some.
    starts = the_ledger.counts("starts")
    interrupted = [entry_id for entry_id, kind, _ in plan if kind == "ok" and starts[entry_id] > 1]
    report(
        f"ledger: {len(plan)} entries ({dict(MIX)}) in {time.monotonic() - started_at:.0f} s, "
        f"{len(WORKER_KILLS_AT)} worker kills, 1 broker restart, {len(interrupted)} ok entries "
        f"interrupted and run again: {dict(tallies)}"
    )
    assert interrupted, "no fault interrupted a running task: the test proved nothing"
    for entry_id, kind, _ in plan:
        expected = EXPECTED[kind]
        if expected is None:
            assert ended[entry_id] == "applied", f"{entry_id} ({kind}) ended as {ended[entry_id]}"
            assert effects[entry_id] == 1, f"{entry_id}'s effect applied {effects[entry_id]} times"
        else:
            assert ended[entry_id] == expected, f"{entry_id} ({kind}) ended as {ended[entry_id]}"
            assert entry_id not in effects, f"{entry_id} ({kind}) has an effect"
