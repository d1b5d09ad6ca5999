"""Replay publishes a dead-lettered task once, with a fresh retry budget, and only when asked."""

from concurrent.futures import ThreadPoolExecutor

from click.testing import CliRunner

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter
from {{ cookiecutter.package_name }}.deadletter.replay import replay
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore

from .faulty_tasks import attempts, new_record, syncs_record
from .test_dead_letters import wait_for_record
from .workers import WorkerProcess, wait_for


def exhaust(store: RedisDeadLetterStore) -> DeadLetter:
    """Dead-letter a `syncs_record` run (three attempts while the service is down), after which
    the service answers; returns its record."""
    return wait_for_record(store, syncs_record.delay(new_record(outage_for=3)).id)


def replayed_to_success(record: DeadLetter) -> bool:
    [record_id] = record.args
    return attempts(record_id) == ["unavailable"] * 3 + ["synced"]


def test_replay_after_the_fault_is_fixed_runs_to_success(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    record = exhaust(store)
    task_id = record.id
    result = CliRunner().invoke(main, ["dlq", "replay", task_id])
    assert result.exit_code == 0, result.output
    assert f"{task_id}: published replay 1" in result.output
    wait_for(lambda: replayed_to_success(record), within=30, what="replay")
    replayed = store.get(task_id)
    assert replayed is not None
    assert (replayed.status, replayed.replays) == ("replayed", 1)


def test_two_replays_at_once_publish_once(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    record = exhaust(store)
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda _: replay(app, store, record, 3).outcome, range(2)))
    assert sorted(outcomes) == ["published", "skipped"]
    wait_for(lambda: replayed_to_success(record), within=30, what="replay")


def test_replay_limit_stops_replay_all_without_force(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    record = exhaust(store)
    # A record already replayed `max_replays` times is skipped; --force lifts the limit.
    assert replay(app, store, record, max_replays=0).outcome == "skipped"
    forced = CliRunner().invoke(
        main, ["dlq", "replay", "--all", "--task", syncs_record.name, "--dry-run", "--force"]
    )
    assert f"{record.id}: would_publish" in forced.output


def test_dlq_commands_show_list_stats_export_and_purge(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    task_id = exhaust(store).id
    runner = CliRunner()
    shown = runner.invoke(main, ["dlq", "show", task_id, "--json"])
    assert shown.exit_code == 0, shown.output
    for field in ("id", "task", "args", "kwargs", "reason", "exception_type", "traceback"):
        assert f'"{field}"' in shown.output
    listed = runner.invoke(main, ["dlq", "list", "--reason", "exhausted", "--since", "1h"])
    assert task_id in listed.output
    assert '"exhausted"' in runner.invoke(main, ["dlq", "stats", "--json"]).output
    exported = runner.invoke(main, ["dlq", "export", "--task", syncs_record.name])
    assert f'"id": "{task_id}"' in exported.output
    purged = runner.invoke(main, ["dlq", "purge", "--task", syncs_record.name, "--yes"])
    assert purged.exit_code == 0, purged.output
    assert store.get(task_id) is None
