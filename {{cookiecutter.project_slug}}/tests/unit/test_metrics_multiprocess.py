"""Multiprocess metrics: real forked processes write values; the files of exited processes are
merged without changing any total, and the directory shrinks."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client import values

from {{ cookiecutter.package_name }}.metrics.multiprocess import DIRECTORY_VARIABLE, MetricsDirectory

# Imports the whole app first (as a worker does), then switches to the directory and forks.
FORKING_WORKER = textwrap.dedent(
    """
    import multiprocessing
    import sys
    from pathlib import Path

    from {{ cookiecutter.package_name }}.celery_app import app  # noqa: F401
    from {{ cookiecutter.package_name }}.metrics import definitions as m
    from {{ cookiecutter.package_name }}.metrics.multiprocess import MetricsDirectory

    def attempt() -> None:
        for _ in range(3):
            m.TASKS_SUCCEEDED.labels("t", "default").inc()
        m.TASK_RUNTIME.labels("t", "default").observe(0.2)
        m.store_write_failures().inc()

    MetricsDirectory(Path(sys.argv[1])).activate()
    m.TASKS_RECEIVED.labels("t", "default").inc()
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=attempt) for _ in range(int(sys.argv[2]))]
    for child in children:
        child.start()
    for child in children:
        child.join()
    """
)


def run_worker(directory: Path, children: int) -> None:
    subprocess.run(
        [sys.executable, "-c", FORKING_WORKER, str(directory), str(children)],
        check=True,
        timeout=60,
    )


def totals(directory: MetricsDirectory) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in directory.collect_without_merging()
        for sample in metric.samples
    }


def test_importing_the_app_leaves_a_process_out_of_multiprocess_mode() -> None:
    from {{ cookiecutter.package_name }}.celery_app import app  # noqa: F401

    assert DIRECTORY_VARIABLE not in os.environ
    assert values.ValueClass is values.MutexValue


def test_exited_processes_are_merged_without_changing_totals(tmp_path: Path) -> None:
    run_worker(tmp_path, children=5)
    directory = MetricsDirectory(tmp_path)
    before = totals(directory)
    files_before = len(directory.value_files())
    merged = directory.merge_dead()
    after = totals(directory)
    assert after == before
    received = ("celery_task_received_total", (("name", "t"), ("queue_name", "default")))
    succeeded = ("celery_task_succeeded_total", (("name", "t"), ("queue_name", "default")))
    runtime = ("celery_task_runtime_count", (("name", "t"), ("queue_name", "default")))
    assert (after[received], after[succeeded], after[runtime]) == (1, 15, 5)
    assert after[("celery_dead_letter_store_write_failures_total", ())] == 5
    assert files_before == 1 + 5 * 2  # the forking process's counter, two per child
    assert merged == files_before
    assert sorted(path.name for path in directory.value_files()) == [
        "counter_merged.db",
        "histogram_merged.db",
    ]


def test_merging_again_keeps_counters_monotonic(tmp_path: Path) -> None:
    directory = MetricsDirectory(tmp_path)
    run_worker(tmp_path, children=2)
    directory.merge_dead()
    run_worker(tmp_path, children=3)
    directory.merge_dead()
    succeeded = ("celery_task_succeeded_total", (("name", "t"), ("queue_name", "default")))
    assert totals(directory)[succeeded] == 3 * (2 + 3)
    assert len(directory.value_files()) == 2


def test_a_file_not_yet_sized_is_skipped_while_live_and_dropped_once_dead(
    tmp_path: Path,
) -> None:
    """A process that has opened its value file but not yet extended it leaves an empty file
    (prometheus-client creates, then sizes it); neither a scrape nor a merge may fail on it."""
    run_worker(tmp_path, children=2)
    directory = MetricsDirectory(tmp_path)
    before = totals(directory)
    with subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE) as starting:
        (tmp_path / f"counter_{starting.pid}.db").touch()
        assert totals(directory) == before
        assert len(list(directory.collect())) > 0
        starting.communicate(b"\n", timeout=10)
    directory.merge_dead()
    assert totals(directory) == before
    assert not (tmp_path / f"counter_{starting.pid}.db").exists()
