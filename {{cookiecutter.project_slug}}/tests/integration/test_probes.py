"""The health probes, run as the deployment files run them, against real worker processes.

Liveness fails when a worker is frozen but not when its broker is down (which would restart
every worker at once); readiness holds from `worker_ready` until shutdown begins.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.celery_app import app

from .relay import TcpRelay
from .workers import READY_WITHIN, WorkerProcess, holds_throughout, spawn_worker, wait_for

# HEALTH_HEARTBEAT_MAX_AGE for these probes. The worker beats every second.
MAX_AGE = 2


def passes(worker: WorkerProcess, probe: str) -> bool:
    """Whether `python -m {{ cookiecutter.package_name }}.health <probe>` succeeds for `worker`."""
    result = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}.health", probe],
        env={
            **os.environ,
            "HEALTH_DIR": str(worker.health_dir),
            "HEALTH_HEARTBEAT_MAX_AGE": str(MAX_AGE),
        },
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


def test_a_ready_worker_passes_both_probes(worker: WorkerProcess) -> None:
    assert passes(worker, "liveness")
    assert passes(worker, "readiness")


def test_liveness_fails_while_the_worker_is_frozen(worker: WorkerProcess) -> None:
    worker.process.send_signal(signal.SIGSTOP)
    try:
        wait_for(
            lambda: not passes(worker, "liveness"),
            within=MAX_AGE + 3,
            what="liveness failing for a frozen worker",
        )
    finally:
        worker.process.send_signal(signal.SIGCONT)
    wait_for(lambda: passes(worker, "liveness"), within=5, what="liveness once the worker runs")


@pytest.fixture
def outage_broker() -> Iterator[TcpRelay]:
    """The real broker behind a relay the test can stop; not started yet."""
    broker = TcpRelay(app.conf.broker_url)
    try:
        yield broker
    finally:
        broker.stop()


def test_probes_from_start_through_a_broker_outage_to_shutdown(
    outage_broker: TcpRelay, worker_logs: Path
) -> None:
    worker = spawn_worker(worker_logs, env={"CELERY_BROKER_URL": outage_broker.url})
    try:
        # Started while its broker is down: alive, waiting, not ready.
        wait_for(
            lambda: passes(worker, "liveness"),
            within=READY_WITHIN,
            what="liveness of a worker waiting for its broker",
        )
        assert not passes(worker, "readiness")

        outage_broker.start()
        wait_for(
            lambda: passes(worker, "readiness"),
            within=READY_WITHIN,
            what="readiness once the broker is up",
        )

        # The broker goes away: the worker keeps waiting for it, alive for longer than MAX_AGE.
        outage_broker.stop()
        wait_for(
            lambda: "Connection to broker lost" in worker.log(),
            within=30,
            what="the worker noticing the outage",
        )
        holds_throughout(
            lambda: passes(worker, "liveness"),
            during=MAX_AGE + 1,
            what="liveness during a broker outage",
        )

        # Readiness ends as soon as shutdown begins. Stopping takes the worker over a second, so
        # one that dropped readiness only at the end of its shutdown would miss this deadline.
        worker.process.terminate()
        wait_for(
            lambda: not passes(worker, "readiness"),
            within=1,
            what="readiness failing once shutdown begins",
        )
        assert worker.process.poll() is None, "the worker exited before readiness failed"
    finally:
        worker.stop()
