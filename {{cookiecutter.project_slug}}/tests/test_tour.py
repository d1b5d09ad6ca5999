"""The onboarding tour, run as a new engineer runs it: every step's expected outcome happens.

`pytest -m tour` runs it against the broker in CELERY_BROKER_URL. When the tests have a Redis
database of their own (DEAD_LETTER_REDIS_URL), the tour gets it, and the service's settings fall
back to their defaults, so that the tour's refusal to share a database with them lets it run.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
{%- if cookiecutter.broker == "rabbitmq" %}
from amqp.exceptions import NotFound
from kombu import Connection, Queue

from {{ cookiecutter.package_name }}.settings import get_settings
from {{ cookiecutter.package_name }}.tour.isolation import TOUR_QUEUE_NAME_PREFIX
{%- endif %}

pytestmark = [pytest.mark.integration, pytest.mark.tour]

STEPS = [
    "start",
    "transient_failure_recovers",
    "backoff_until_dead_letter",
    "rate_limit_and_decline",
    "worker_loss_charges_once",
    "metrics_and_log_of_a_failure",
    "dead_letter_replayed",
]
# Settings that may name the tests' Redis database, which the tour would then refuse.
SERVICE_REDIS_VARIABLES = (
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "DEAD_LETTER_REDIS_URL",
    "IDEMPOTENCY_REDIS_URL",
)
TOUR_WITHIN = 240


def tour_environment() -> dict[str, str]:
    """The environment, with the tests' Redis database handed to the tour as its own."""
    environment = dict(os.environ)
    tests_database = environment.get("DEAD_LETTER_REDIS_URL")
    if tests_database and "TOUR_REDIS_URL" not in environment:
        environment["TOUR_REDIS_URL"] = tests_database
        for name in SERVICE_REDIS_VARIABLES:
            if environment.get(name) == tests_database:
                del environment[name]
    return environment


def processes_named(marker: str) -> list[str]:
    """Command lines of running processes that contain `marker`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended while being read
            continue
        if marker in command:
            found.append(command)
    return found


def test_every_step_of_the_tour_happens_and_nothing_is_left_running() -> None:
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "tour", "--json"],
        env=tour_environment(),
        capture_output=True,
        text=True,
        timeout=TOUR_WITHIN,
        check=False,
    )
    elapsed = time.monotonic() - started
    steps = {step["name"]: step for step in json.loads(finished.stdout or "[]")}
    for name, step in steps.items():
        facts = {key: value for key, value in step["details"].items() if key != "look_closer"}
        verdict = "ok" if step["ok"] else "FAILED"
        print(f"\ntour: {name}: {verdict} in {step['seconds']} s {json.dumps(facts)[:300]}")
    print(f"\ntour: the whole tour took {elapsed:.0f} s")

    assert list(steps) == STEPS, finished.stderr
    assert [name for name, step in steps.items() if not step["ok"]] == []
    assert finished.returncode == 0, finished.stderr
    seen = {name: step["details"] for name, step in steps.items()}
    assert seen["transient_failure_recovers"]["statuses"] == [503, 503, 200]
    exhausted, limited = seen["backoff_until_dead_letter"], seen["rate_limit_and_decline"]
    assert (exhausted["attempts"], exhausted["reason"]) == (4, "exhausted")
    assert limited["retry_after_wait"] >= 1.8
    assert (limited["declined_calls"], limited["declined_reason"]) == (1, "non_retryable")
    crashed = seen["worker_loss_charges_once"]
    assert (crashed["charges"], crashed["gateway_requests"] >= 2) == (1, True)
    assert seen["metrics_and_log_of_a_failure"]["log_line"]["level"] == "ERROR"
    assert seen["dead_letter_replayed"]["replays"] == 1
    assert processes_named("--hostname=tour-") == []
{%- if cookiecutter.broker == "rabbitmq" %}
    broker_url = get_settings().celery_broker_url.get_secret_value()
    with (
        Connection(broker_url) as connection,
        connection.channel() as channel,
        pytest.raises(NotFound),
    ):
        Queue(f"{TOUR_QUEUE_NAME_PREFIX}default").bind(channel).queue_declare(passive=True)
{%- endif %}
