"""The console replays a failure group through the replay code: the group's records become
`replayed`, and a real worker runs their tasks again, with their original arguments, and they
succeed."""

from collections.abc import Callable
from typing import Any

from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore

from ..console_client import OPERATOR_TOKEN, console_app, signed_in
from . import faulty_tasks
from .test_replay_operations import fail, groups_of, new_scenario, runs_reach
from .workers import WorkerProcess, wait_for

REPLAY_WITHIN = 30.0


def succeeded_on(worker: WorkerProcess, task_id: str) -> Callable[[], bool]:
    """Whether `worker` has logged a success of `task_id`."""
    return lambda: f"[{task_id}] succeeded" in worker.log()


def test_an_operator_replays_a_group_at_a_rate_and_the_worker_runs_it(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    scenario = new_scenario()
    replayed = fail(store, "value", scenario, 4)
    untouched = fail(store, "lookup", scenario, 2)
    (group,) = [found for found in groups_of(scenario) if found["count"] == len(replayed)]
    faulty_tasks.fix(scenario)
    operator, csrf = signed_in(console_app(store), OPERATOR_TOKEN)

    started = operator.post(f"/groups/{group['id']}/replay", data={"csrf": csrf, "rate": "8"})
    assert started.status_code == 303
    job_page = started.headers["location"]
    statuses: list[dict[str, Any]] = []

    def finished() -> bool:
        statuses.append(operator.get(f"{job_page}/status").json())
        return bool(statuses[-1]["finished"])

    wait_for(finished, REPLAY_WITHIN, "the group replay")
    assert {key: statuses[-1][key] for key in ("selected", "published", "error")} == {
        "selected": 4,
        "published": 4,
        "error": None,
    }
    assert any(0 < status["done"] < 4 for status in statuses)  # progress showed on the way
    wait_for(runs_reach(replayed, 2), REPLAY_WITHIN, "the replayed tasks' second runs")
    for task_id in replayed:
        wait_for(succeeded_on(worker, task_id), 10, f"{task_id} succeeded")
        record = store.get(task_id)
        assert record is not None
        assert (record.status, record.replays) == ("replayed", 1)
        assert faulty_tasks.received_kwargs(task_id)[-1]["scenario"] == scenario
    assert {(r.status, r.replays) for r in map(store.get, untouched) if r} == {("dead", 0)}
    (entry,) = store.history(1)
    assert (entry["by"], entry["selection"], entry["published"]) == (
        "console operator",
        {"group": group["id"]},
        4,
    )
    assert "finished" in operator.get(job_page).text


def test_a_cancelled_group_replay_leaves_each_record_replayed_once_or_still_dead(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    scenario = new_scenario()
    ids = fail(store, "permission", scenario, 5)
    (group,) = groups_of(scenario)
    operator, csrf = signed_in(console_app(store), OPERATOR_TOKEN)
    started = operator.post(f"/groups/{group['id']}/replay", data={"csrf": csrf, "rate": "1"})
    job_page = started.headers["location"]

    def status() -> dict[str, Any]:
        found: dict[str, Any] = operator.get(f"{job_page}/status").json()
        return found

    wait_for(lambda: status()["published"] >= 1, REPLAY_WITHIN, "the first replay")
    assert operator.post(f"{job_page}/cancel", data={"csrf": csrf}).status_code == 303
    wait_for(lambda: bool(status()["finished"]), REPLAY_WITHIN, "the cancelled replay to stop")
    stopped = status()
    assert stopped["interrupted"] is True
    assert 1 <= stopped["published"] < len(ids)
    # A replayed record counts its replay from the claim on, whether its task failed again yet.
    replays = sorted(record.replays for record in map(store.get, ids) if record)
    assert replays == [0] * (len(ids) - stopped["published"]) + [1] * stopped["published"]
    (entry,) = store.history(1)
    assert (entry["interrupted"], entry["published"]) == (True, stopped["published"])
