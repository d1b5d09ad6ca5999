"""Replay publishes a dead-lettered task once, with a fresh retry budget, and only when asked."""

from concurrent.futures import ThreadPoolExecutor

from click.testing import CliRunner

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter
from {{ cookiecutter.package_name }}.deadletter.replay import replay
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.tasks import sync_to_crm

from .http_stub import HttpStub, Reply
from .test_dead_letters import wait_for_record
from .workers import WorkerProcess, wait_for


def exhaust(http_stub: HttpStub, store: RedisDeadLetterStore, record_id: int) -> DeadLetter:
    """Dead-letter a sync_to_crm run (three 503s), after which the CRM answers; returns its
    record."""
    path = f"/records/{record_id}"
    http_stub.script(path, Reply(503), Reply(503), Reply(503))
    return wait_for_record(store, sync_to_crm.delay(record_id).id)


def test_replay_after_the_fault_is_fixed_runs_to_success(
    worker: WorkerProcess, http_stub: HttpStub, store: RedisDeadLetterStore
) -> None:
    task_id = exhaust(http_stub, store, 501).id
    result = CliRunner().invoke(main, ["dlq", "replay", task_id])
    assert result.exit_code == 0, result.output
    assert f"{task_id}: published replay 1" in result.output
    wait_for(lambda: len(http_stub.requests_to("/records/501")) == 4, within=30, what="replay")
    assert http_stub.requests_to("/records/501")[-1].status == 200
    record = store.get(task_id)
    assert record is not None
    assert (record.status, record.replays) == ("replayed", 1)


def test_two_replays_at_once_publish_once(
    worker: WorkerProcess, http_stub: HttpStub, store: RedisDeadLetterStore
) -> None:
    record = exhaust(http_stub, store, 502)
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda _: replay(app, store, record, 3).outcome, range(2)))
    assert sorted(outcomes) == ["published", "skipped"]
    wait_for(lambda: len(http_stub.requests_to("/records/502")) == 4, within=30, what="replay")


def test_replay_limit_stops_replay_all_without_force(
    worker: WorkerProcess, http_stub: HttpStub, store: RedisDeadLetterStore
) -> None:
    record = exhaust(http_stub, store, 503)
    # A record already replayed `max_replays` times is skipped; --force lifts the limit.
    assert replay(app, store, record, max_replays=0).outcome == "skipped"
    forced = CliRunner().invoke(
        main, ["dlq", "replay", "--all", "--task", sync_to_crm.name, "--dry-run", "--force"]
    )
    assert f"{record.id}: would_publish" in forced.output


def test_dlq_commands_show_list_stats_export_and_purge(
    worker: WorkerProcess, http_stub: HttpStub, store: RedisDeadLetterStore
) -> None:
    task_id = exhaust(http_stub, store, 504).id
    runner = CliRunner()
    shown = runner.invoke(main, ["dlq", "show", task_id, "--json"])
    assert shown.exit_code == 0, shown.output
    for field in ("id", "task", "args", "kwargs", "reason", "exception_type", "traceback"):
        assert f'"{field}"' in shown.output
    listed = runner.invoke(main, ["dlq", "list", "--reason", "exhausted", "--since", "1h"])
    assert task_id in listed.output
    assert '"exhausted"' in runner.invoke(main, ["dlq", "stats", "--json"]).output
    exported = runner.invoke(main, ["dlq", "export", "--task", sync_to_crm.name])
    assert f'"id": "{task_id}"' in exported.output
    purged = runner.invoke(main, ["dlq", "purge", "--task", sync_to_crm.name, "--yes"])
    assert purged.exit_code == 0, purged.output
    assert store.get(task_id) is None
