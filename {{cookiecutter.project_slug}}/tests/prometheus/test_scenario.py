"""A real Prometheus scrapes a main worker (two pool processes) and the dead-letter worker while
a scripted scenario runs; every counter it stores equals what the scenario did."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.tasks.diagnostics import ping
from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_QUEUE

from ..integration import faulty_tasks
from ..integration.clean_slate import empty_queues_and_store
from ..integration.faulty_tasks import is_declined, new_record, syncs_record
from ..integration.workers import running, spawn_worker, wait_for
from . import scenario_tasks
from .conftest import Prometheus

WORKER_PORT = 19221
DEAD_LETTER_WORKER_PORT = 19222
SERVICE = "{{ cookiecutter.project_slug }}"
RULES = Path(__file__).resolve().parents[2] / "chart" / "files" / "prometheus-rules.yaml"
SETTLE_WITHIN = 90.0
DEAD_LETTER_ALERT = "CeleryDeadLettersArriving"


def scrape_config(rules: list[Path]) -> str:
    targets = [
        {"targets": [f"127.0.0.1:{WORKER_PORT}"], "labels": {"component": "worker"}},
        {"targets": [f"127.0.0.1:{DEAD_LETTER_WORKER_PORT}"], "labels": {"component": "dlq"}},
    ]
    for target in targets:
        target["labels"]["celery_service"] = SERVICE  # type: ignore[index]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in rules],
        "scrape_configs": [{"job_name": "scenario", "static_configs": targets}],
    }
    return json.dumps(config)  # JSON is YAML


def settled(
    prometheus: Prometheus, expression: str, expected: dict[str, float]
) -> Callable[[], bool]:
    return lambda: prometheus.query(expression) == expected


def assert_settles(prometheus: Prometheus, expression: str, expected: dict[str, float]) -> None:
    """Wait until Prometheus answers `expected` to `expression`, then compare (a clear diff)."""
    try:
        wait_for(settled(prometheus, expression, expected), SETTLE_WITHIN, expression)
    except AssertionError:
        assert prometheus.query(expression) == expected, expression


@pytest.fixture
def empty_broker_and_store(store: RedisDeadLetterStore) -> None:
    empty_queues_and_store(store)


def dlq_stats() -> dict[str, int]:
    output = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "dlq", "stats", "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    by_reason: dict[str, int] = json.loads(output)["by_reason"]
    return by_reason


@pytest.mark.usefixtures("empty_broker_and_store")
def test_prometheus_sees_exactly_what_the_scenario_did(
    prometheus: Prometheus, tmp_path: Path
) -> None:
    rules = [RULES] if RULES.exists() else []
    prometheus.start(scrape_config(rules))
    fast = {
        "RETRY_TRANSIENT_BACKOFF_BASE": "1",
        "RETRY_TRANSIENT_BACKOFF_CAP": "2",
        "RETRY_TRANSIENT_MAX_RETRIES": "2",
        "METRICS_GAUGE_INTERVAL": "1",
    }
    main = spawn_worker(
        tmp_path,
        "--concurrency=2",
        f"--include={faulty_tasks.MODULE},{scenario_tasks.MODULE}",
        env={**fast, "METRICS_PORT": str(WORKER_PORT)},
    )
    dead_letters = spawn_worker(
        tmp_path,
        f"--queues={DEAD_LETTER_QUEUE}",
        f"--include={faulty_tasks.MODULE},{scenario_tasks.MODULE}",
        env={**fast, "METRICS_PORT": str(DEAD_LETTER_WORKER_PORT)},
    )
    started = time.monotonic()
    with running(main), running(dead_letters):
        assert_settles(prometheus, "sum by (component) (up)", {"dlq": 1.0, "worker": 1.0})
        for _ in range(5):
            ping.delay()
        for _ in range(2):  # a retry that recovers
            syncs_record.delay(new_record(outage_for=1))
        syncs_record.delay(new_record(outage_for=3))  # exhausted
        is_declined.delay("p-704")
        doomed = scenario_tasks.waits_to_be_killed_once.delay()
        wait_for(
            lambda: scenario_tasks.running_pid(doomed.id) is not None, 60, "the doomed task runs"
        )
        os.kill(scenario_tasks.running_pid(doomed.id) or 0, signal.SIGKILL)
        check_counters(prometheus)
        check_dead_letters(prometheus)
        if rules:
            check_rules(prometheus)
        print(f"\nprometheus: scenario settled in {time.monotonic() - started:.1f} s")
        failures = httpx.get(f"http://127.0.0.1:{WORKER_PORT}/metrics", timeout=10).text
        for line in failures.splitlines():
            if line.startswith(("celery_task_failed_total", "celery_dead_letters_total")):
                print(f"prometheus: /metrics {line}")


PING, SYNC, CHARGE = ping.name, syncs_record.name, is_declined.name
DOOMED = scenario_tasks.waits_to_be_killed_once.name


def check_counters(prometheus: Prometheus) -> None:
    # Each retry is a new message: received and started once per attempt.
    attempts = {PING: 5.0, SYNC: 2 * 2 + 3.0, CHARGE: 1.0, DOOMED: 2.0}
    assert_settles(prometheus, "sum by (name) (celery_task_received_total)", attempts)
    assert_settles(prometheus, "sum by (name) (celery_task_started_total)", attempts)
    assert_settles(
        prometheus,
        "sum by (name) (celery_task_succeeded_total)",
        {PING: 5.0, SYNC: 2.0, DOOMED: 1.0},
    )
    assert_settles(prometheus, "sum by (name) (celery_task_retried_total)", {SYNC: 4.0})
    assert_settles(
        prometheus,
        "sum by (exception, name) (celery_task_failed_total)",
        {
            f"ConnectionError,{SYNC}": 1.0,
            f"PermissionError,{CHARGE}": 1.0,
            f"WorkerLostError,{DOOMED}": 1.0,
        },
    )
    # Every attempt that ended in its pool process was timed; the killed one was not.
    assert_settles(
        prometheus,
        "sum by (name) (celery_task_runtime_count)",
        {PING: 5.0, SYNC: 7.0, CHARGE: 1.0, DOOMED: 1.0},
    )
    assert_settles(prometheus, "sum by (name) (celery_task_queue_wait_time_count)", attempts)
    assert_settles(prometheus, "sum by (queue_name) (celery_task_started_total)", {"default": 15.0})


def check_dead_letters(prometheus: Prometheus) -> None:
    expected = {"exhausted": 1.0, "non_retryable": 1.0}
    assert_settles(prometheus, "sum by (reason) (celery_dead_letters_total)", expected)
    assert_settles(prometheus, "sum by (queue_name) (celery_dead_letters_total)", {"default": 2.0})
    assert_settles(prometheus, "max by (reason) (celery_dead_letter_records) > 0", expected)
    assert {reason: float(count) for reason, count in dlq_stats().items()} == expected
    assert_settles(
        prometheus,
        "max by (queue_name) (celery_queue_length)",
        {"default": 0.0, "dead_letter": 0.0},
    )


def check_rules(prometheus: Prometheus) -> None:
    def rules() -> list[dict[str, object]]:
        data = prometheus.api("rules")
        assert isinstance(data, dict)
        return [rule for group in data["groups"] for rule in group["rules"]]

    def with_health() -> dict[str, object]:
        return {str(rule["name"]): rule["health"] for rule in rules()}

    healthy = dict.fromkeys(with_health(), "ok")
    try:
        wait_for(lambda: with_health() == healthy, 30, "every rule evaluated without error")
    except AssertionError:
        assert with_health() == healthy
    [dead_letter_alert] = [rule for rule in rules() if rule["name"] == DEAD_LETTER_ALERT]
    assert prometheus.query(str(dead_letter_alert["query"])), "dead-letter alert expression empty"
