"""Failure groups and bulk replay: `--group` acts on exactly one group, a replay runs at a rate,
to a declared queue, survives an interruption, and leaves an audit entry."""

import json
import os
import secrets
import signal
import string
import subprocess
import sys
import time
from collections.abc import Callable

from click.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore

from . import faulty_tasks
from .test_dead_letters import wait_for_record
from .workers import WorkerProcess, wait_for

INTERRUPT_WITHIN = 15.0


def new_scenario() -> str:
    """A word (letters only, so no group strips it) naming one test's failures."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))


def fail(store: RedisDeadLetterStore, kind: str, scenario: str, items: int) -> list[str]:
    """Dead-letter `items` runs of `fails_as` with this `kind` of error; their ids."""
    sent = [faulty_tasks.fails_as.delay(kind, scenario, item) for item in range(items)]
    return [wait_for_record(store, result.id).id for result in sent]


def dlq(*arguments: str) -> str:
    result = CliRunner().invoke(main, ["dlq", *arguments])
    assert result.exit_code == 0, result.output
    return result.output


def groups_of(scenario: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = json.loads(dlq("groups", "--json"))
    return [group for group in found if scenario in str(group["message"])]


def runs_reach(task_ids: list[str], runs: int) -> Callable[[], bool]:
    return lambda: all(len(faulty_tasks.received_kwargs(i)) >= runs for i in task_ids)


def test_three_kinds_of_failure_make_three_groups_and_replay_takes_one(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    scenario = new_scenario()
    ids = {kind: fail(store, kind, scenario, n) for kind, n in (("lookup", 4), ("value", 3))}
    ids["permission"] = fail(store, "permission", scenario, 2)
    print(dlq("groups"))  # the closing note shows this table
    groups = {str(group["exception_type"]): group for group in groups_of(scenario)}
    assert {name: group["count"] for name, group in groups.items()} == {
        "builtins.LookupError": 4,
        "builtins.ValueError": 3,
        "builtins.PermissionError": 2,
    }
    value_group = groups["builtins.ValueError"]
    assert value_group["sample_id"] in ids["value"]
    assert (value_group["task"], value_group["reason"]) == (
        faulty_tasks.fails_as.name,
        "non_retryable",
    )
    group_id = str(value_group["id"])
    listed = json.loads(dlq("list", "--group", group_id, "--json"))
    assert sorted(record["id"] for record in listed) == sorted(ids["value"])
    by_exception = json.loads(dlq("list", "--exception", "ValueError", "--since", "1h", "--json"))
    assert set(ids["value"]) <= {record["id"] for record in by_exception}

    faulty_tasks.fix(scenario)
    assert "published 3 of 3; skipped 0; refused 0" in dlq("replay", "--all", "--group", group_id)
    wait_for(runs_reach(ids["value"], 2), 30, "the group's replays")
    untouched = [store.get(task_id) for task_id in ids["lookup"] + ids["permission"]]
    assert {(r.status, r.replays) for r in untouched if r is not None} == {("dead", 0)}
    assert len(untouched) == 6

    exported = dlq("export", "--group", str(groups["builtins.PermissionError"]["id"]))
    assert sorted(json.loads(line)["id"] for line in exported.splitlines()) == sorted(
        ids["permission"]
    )
    dlq("purge", "--exception", "builtins.PermissionError", "--since", "1h", "--yes")
    assert [store.get(task_id) for task_id in ids["permission"]] == [None, None]
    assert store.get(ids["lookup"][0]) is not None


def test_replay_refuses_a_queue_the_service_does_not_declare(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    (task_id,) = fail(store, "value", new_scenario(), 1)
    for queue in ("nowhere", "dead_letter"):
        result = CliRunner().invoke(main, ["dlq", "replay", task_id, "--queue", queue])
        assert result.exit_code == 2, result.output
        assert "is not a work queue of this service; choose from default" in result.output
    record = store.get(task_id)
    assert record is not None
    assert record.status == "dead"


def test_an_interrupted_bulk_replay_leaves_no_record_half_done_and_a_rerun_finishes_it(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    scenario = new_scenario()
    ids = fail(store, "lookup", scenario, 8)
    (group,) = groups_of(scenario)
    faulty_tasks.fix(scenario)
    replay = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "dlq", "replay", "--all"]
    paced = subprocess.Popen(
        [*replay, "--group", str(group["id"]), "--rate", "2", "--queue", "default"],
        env=os.environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    def replayed() -> list[str]:
        records = [store.get(task_id) for task_id in ids]
        return [r.id for r in records if r is not None and r.status == "replayed"]

    wait_for(lambda: len(replayed()) >= 2, INTERRUPT_WITHIN, "the first replays")
    paced.send_signal(signal.SIGTERM)
    output = paced.communicate(timeout=INTERRUPT_WITHIN)[0].decode()
    assert paced.returncode == 1, output
    assert "interrupted: the records not replayed are still dead" in output
    first_pass = replayed()
    assert 2 <= len(first_pass) < len(ids), output
    wait_for(runs_reach(first_pass, 2), 30, "the first pass's tasks")
    still_dead = [task_id for task_id in ids if task_id not in first_pass]
    assert all(len(faulty_tasks.received_kwargs(i)) == 1 for i in still_dead)

    rerun = dlq("replay", "--all", "--group", str(group["id"]))
    assert f"published {len(still_dead)} of {len(still_dead)}" in rerun
    wait_for(runs_reach(ids, 2), 30, "every task's replay")
    assert [len(faulty_tasks.received_kwargs(i)) for i in ids] == [2] * len(ids)

    entries = json.loads(dlq("history", "--json", "--limit", "2"))
    assert [(e["published"], e["interrupted"]) for e in entries] == [
        (len(still_dead), False),
        (len(first_pass), True),
    ]
    assert entries[1]["selection"] == {"group": group["id"]}
    assert (entries[1]["rate"], entries[1]["queue"]) == (2, "default")
    assert f"published {len(first_pass)} of 8" in dlq("history", "--limit", "2")


def test_replay_publishes_at_the_rate_asked(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    scenario = new_scenario()
    ids = fail(store, "value", scenario, 5)
    (group,) = groups_of(scenario)
    faulty_tasks.fix(scenario)
    started = time.monotonic()
    dlq("replay", "--all", "--group", str(group["id"]), "--rate", "4")
    # Five records at 4 a second: four waits of a quarter second between them.
    assert time.monotonic() - started >= (len(ids) - 1) / 4
    wait_for(runs_reach(ids, 2), 30, "the paced replays")
