"""A worker serves every pool process's metrics from its main process on METRICS_PORT."""

import re
import socket
import uuid
from pathlib import Path

from {{ cookiecutter.package_name }}.tasks.diagnostics import ping

from . import faulty_tasks
from .metrics_endpoint import (
    Samples,
    metrics_directories,
    scrape,
    sole_consumer,
    value,
    value_files,
)
from .workers import WorkerProcess, running, spawn_worker, wait_for

SERVING_PORT = 19210
TAKEN_PORT = 19211
RECYCLING_PORT = 19212
REJECTING_PORT = 19801
PING = {"name": ping.name, "queue_name": "default"}
MEETING = {"name": faulty_tasks.meets.name, "queue_name": "default"}
POOL_PROCESSES = 2


# Each is counted once per task that runs once and succeeds.
ONCE_PER_TASK = (
    "celery_task_received_total",
    "celery_task_started_total",
    "celery_task_succeeded_total",
    "celery_task_runtime_count",
    "celery_task_queue_wait_time_count",
)


def run_pings(
    metrics_worker: WorkerProcess, port: int, session_worker: WorkerProcess, sent: int, tmp: Path
) -> tuple[Samples, list[Path]]:
    """Send `sent` pings to `metrics_worker` alone, after a meeting that each of its pool
    processes joins. Once all count as succeeded: its samples and the files in its metrics
    directory (under `tmp`, its TMPDIR), read before it stops and removes them."""
    with running(metrics_worker), sole_consumer(session_worker):
        meeting = uuid.uuid4().hex
        for _ in range(POOL_PROCESSES):
            faulty_tasks.meets.delay(meeting, POOL_PROCESSES)
        for _ in range(sent):
            ping.delay()
        wait_for(
            lambda: (
                value(port, "celery_task_succeeded_total", PING) == sent
                and value(port, "celery_task_succeeded_total", MEETING) == POOL_PROCESSES
            ),
            within=max(60, sent),
            what=f"{sent} pings and {POOL_PROCESSES} meetings counted as succeeded",
        )
        return scrape(port), value_files(tmp)


def pool_worker(worker_logs: Path, port: int, tmp: Path, *worker_args: str) -> WorkerProcess:
    """A worker with two pool processes, serving metrics on `port`, its TMPDIR in `tmp`."""
    return spawn_worker(
        worker_logs,
        f"--concurrency={POOL_PROCESSES}",
        f"--include={faulty_tasks.MODULE}",
        *worker_args,
        env={"METRICS_PORT": str(port), "TMPDIR": str(tmp)},
    )


def per_task_counts(samples: Samples) -> dict[str, float]:
    return {name: samples[(name, frozenset(PING.items()))] for name in ONCE_PER_TASK}


def test_metrics_sum_every_pool_process(
    worker: WorkerProcess, worker_logs: Path, tmp_path: Path
) -> None:
    sent = 40
    metrics_worker = pool_worker(worker_logs, SERVING_PORT, tmp_path)
    samples, files = run_pings(metrics_worker, SERVING_PORT, worker, sent, tmp_path)
    assert per_task_counts(samples) == dict.fromkeys(ONCE_PER_TASK, sent)
    # One meeting in each pool process: the worker's count is their sum.
    assert samples[("celery_task_succeeded_total", frozenset(MEETING.items()))] == POOL_PROCESSES
    pool_processes = set(re.findall(r"ForkPoolWorker-\d+", metrics_worker.log()))
    assert len(pool_processes) == POOL_PROCESSES, "both pool processes ran tasks"
    counter_files = [path.name for path in files if path.name.startswith("counter_")]
    assert len(counter_files) == 1 + POOL_PROCESSES, f"main and pool processes: {counter_files}"


def test_worker_stops_when_its_metrics_port_is_taken(worker_logs: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", TAKEN_PORT))  # noqa: S104 (the worker binds every interface)
        taken.listen()
        refused = spawn_worker(worker_logs, env={"METRICS_PORT": str(TAKEN_PORT)})
        exit_code = refused.process.wait(timeout=60)
    assert exit_code != 0
    assert f"METRICS_PORT {TAKEN_PORT} is not available" in refused.log()


def test_metrics_port_zero_serves_nothing(worker_logs: Path, tmp_path: Path) -> None:
    with running(
        spawn_worker(worker_logs, env={"METRICS_PORT": "0", "TMPDIR": str(tmp_path)})
    ) as quiet:
        assert "serving metrics" not in quiet.log()
        assert not metrics_directories(tmp_path)


def test_recycled_pool_processes_keep_counters_exact_and_the_directory_small(
    worker: WorkerProcess, worker_logs: Path, tmp_path: Path
) -> None:
    # Without merging, each exited process would leave two files: 40 tasks would leave more than 80.
    tasks = 40
    recycling = pool_worker(worker_logs, RECYCLING_PORT, tmp_path, "--max-tasks-per-child=1")
    samples, files = run_pings(recycling, RECYCLING_PORT, worker, tasks, tmp_path)
    print(f"\nmetrics: {len(files)} value files after {tasks} tasks, one pool process each")
    assert per_task_counts(samples) == dict.fromkeys(ONCE_PER_TASK, tasks)
    # Main process (counter), two live pool processes (counter, histogram), merged (two),
    # and at most two exited processes not yet merged.
    assert len(files) <= 9, [path.name for path in files]


def test_a_task_rejecting_its_message_counts_as_rejected_not_failed(
    worker: WorkerProcess, worker_logs: Path, tmp_path: Path
) -> None:
    rejecting = spawn_worker(
        worker_logs,
        f"--include={faulty_tasks.MODULE}",
        env={"METRICS_PORT": str(REJECTING_PORT), "TMPDIR": str(tmp_path)},
    )
    labels = {"name": faulty_tasks.rejects_itself.name, "queue_name": "default"}
    with running(rejecting), sole_consumer(worker):
        faulty_tasks.rejects_itself.delay()
        wait_for(
            lambda: value(REJECTING_PORT, "celery_task_rejected_total", labels) == 1,
            within=60,
            what="the rejection counted",
        )
        samples = scrape(REJECTING_PORT)
    # The worker's `task_failure` for a `Reject(requeue=False)` is not a failure of the task.
    failures = [
        count
        for (name, sample_labels), count in samples.items()
        if name == "celery_task_failed_total" and ("name", labels["name"]) in sample_labels
    ]
    assert failures == []
