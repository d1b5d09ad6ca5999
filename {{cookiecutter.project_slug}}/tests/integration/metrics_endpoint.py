"""Read a worker's `/metrics` the way Prometheus does, and the metrics directory it keeps."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.topology import WORK_QUEUE

from .workers import WorkerProcess, wait_for

DIRECTORY_GLOB = "{{ cookiecutter.package_name }}-metrics-*"


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    """Every sample served on `port`, by name and label set."""
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    response.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(port: int, sample: str, labels: dict[str, str]) -> float:
    """One sample's value on `port` (0 when absent)."""
    return scrape(port).get((sample, frozenset(labels.items())), 0.0)


def value_files(temp_dir: Path) -> list[Path]:
    """The value files in the one metrics directory a worker keeps under `temp_dir` (its TMPDIR)."""
    [directory] = metrics_directories(temp_dir)
    return sorted(directory.glob("*.db"))


def metrics_directories(temp_dir: Path) -> list[Path]:
    return list(temp_dir.glob(DIRECTORY_GLOB))


@contextmanager
def sole_consumer(session_worker: WorkerProcess) -> Iterator[None]:
    """The session's main worker stops consuming the work queue while the block runs, so the
    test's own worker gets every message."""
    destination = [session_worker.nodename]
    # Control replies wait for the one destination, or the timeout: a busy worker may need more
    # than Celery's default second, and a cancel that hasn't happened yet would share the pings.
    app.control.cancel_consumer(WORK_QUEUE, destination=destination, reply=True, timeout=30)
    wait_for(
        lambda: WORK_QUEUE not in session_worker.consumed_queues(),
        within=30,
        what=f"{session_worker.nodename} stopped consuming {WORK_QUEUE}",
    )
    try:
        yield
    finally:
        app.control.add_consumer(WORK_QUEUE, destination=destination, reply=True, timeout=30)
