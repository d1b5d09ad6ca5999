"""Celery apps that add the service's settings to Celery's defaults one step at a time, so that
`reliability_cost.py` can say what each protection costs.

A worker loads one with `celery -A benchmarks.ablation worker` and takes its step from
`BENCHMARK_STEP`. Steps add up: step 3 has the settings of steps 1 to 3. Every setting of the
service's configuration (`celery_app.build_config`) belongs to exactly one step, so the last step
is the service's configuration; importing this module fails if a new setting has no step.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup

from {{ cookiecutter.package_name }}.celery_app import build_config
{%- if cookiecutter.broker == "redis" %}
from {{ cookiecutter.package_name }}.countdown_mover import install_countdown_mover
{%- endif %}
from {{ cookiecutter.package_name }}.heartbeat import install_health_checks
{%- if cookiecutter.broker == "redis" %}
from {{ cookiecutter.package_name }}.recovery import install_dead_worker_recovery
{%- endif %}
from {{ cookiecutter.package_name }}.settings import get_settings

# The early steps are exactly what the service's start-up checks refuse (early acks with retries):
# the ablation workers skip those checks.
celeryd_after_setup.disconnect(dispatch_uid="{{ cookiecutter.package_name }}.startup")

STEP_VARIABLE = "BENCHMARK_STEP"
# Where tasks go before the step that brings the service's own queues.
CELERY_DEFAULT_QUEUE = "benchmark"
SERVICE = build_config(get_settings())
# Settings every step has: they choose the broker and the tasks, not how failures are handled.
COMMON = {
    "broker_url",
    "accept_content",
    "result_accept_content",
    "task_serializer",
    "result_serializer",
    "enable_utc",
    "timezone",
    "include",
{%- if cookiecutter.scheduled_replay == "yes" %}
    "beat_schedule",
{%- endif %}
}
# Settings the service leaves off, as Celery does, unless asked for: `reliability_cost.py`
# measures switching them on as a row of its own.
OPT_IN = {"worker_send_task_events", "task_send_sent_event"}


def health_checks(app: Celery) -> None:
    install_health_checks(app, get_settings().health_dir)
{%- if cookiecutter.broker == "redis" %}


def parked_countdowns_and_recovery(app: Celery) -> None:
    install_countdown_mover(app)
    install_dead_worker_recovery(app)
{%- endif %}


@dataclass(frozen=True)
class Step:
    """One protection: the service's settings that buy it, and the worker steps it installs."""

    label: str
    settings: tuple[str, ...] = ()
    install: Callable[[Celery], None] | None = None


STEPS = (
    Step("Celery's defaults (early ack, prefetch 4)"),
    Step(
        "late ack, requeue on worker loss",
        (
            "task_acks_late",
            "task_reject_on_worker_lost",
            "task_acks_on_failure",
            "task_acks_on_timeout",
            "worker_cancel_long_running_tasks_on_connection_loss",
            "worker_soft_shutdown_timeout",
            "worker_enable_soft_shutdown_on_idle",
        ),
    ),
    Step("prefetch multiplier 1", ("worker_prefetch_multiplier",)),
    Step("time limits", ("task_time_limit", "task_soft_time_limit")),
{%- if cookiecutter.result_backend == "redis" %}
    Step("results kept in Redis", ("result_backend", "result_extended")),
{%- else %}
    Step("results ignored", ("task_ignore_result",)),
{%- endif %}
    Step(
{%- if cookiecutter.broker == "rabbitmq" %}
        "quorum queue, delivery limit, DLX",
{%- else %}
        "the service's queues",
{%- endif %}
        (
            "task_queues",
            "task_default_queue",
            "task_default_exchange",
            "task_default_exchange_type",
            "task_default_routing_key",
            "task_create_missing_queues",
        ),
    ),
    Step(
{%- if cookiecutter.broker == "rabbitmq" %}
        "publisher confirms, publish retries",
{%- else %}
        "visibility timeout, restore interval, publish retries",
{%- endif %}
        (
            "broker_transport_options",
            "task_publish_retry",
            "task_publish_retry_policy",
            "broker_connection_retry_on_startup",
        ),
    ),
{%- if cookiecutter.broker == "rabbitmq" %}
    Step("dead-letter consumer", ("worker_consumer",)),
{%- else %}
    Step("dead-letter consumer, delivery counter", ("worker_consumer",)),
{%- endif %}
{%- if cookiecutter.broker == "redis" %}
    Step(
        "countdowns parked in Redis, dead-worker recovery",
        ("broker_transport",),
        install=parked_countdowns_and_recovery,
    ),
{%- endif %}
    Step("health heartbeat", install=health_checks),
)


def unplaced_settings() -> set[str]:
    placed = COMMON.union(OPT_IN, *(step.settings for step in STEPS))
    return set(SERVICE) - placed


if unplaced := unplaced_settings():
    raise SystemExit(f"benchmarks/ablation.py: give these settings a step: {sorted(unplaced)}")


def configuration(step: int) -> dict[str, Any]:
    """Celery's configuration with the settings of steps up to `step`."""
    chosen = COMMON.union(*(candidate.settings for candidate in STEPS[: step + 1]))
    config = {name: value for name, value in SERVICE.items() if name in chosen}
    config["include"] = ["benchmarks.workloads"]
    config.setdefault("task_default_queue", CELERY_DEFAULT_QUEUE)
    return config


def queue_of(step: int) -> str:
    return str(configuration(step)["task_default_queue"])


def ablation_app(step: int) -> Celery:
    app = Celery("benchmarks.ablation")
    app.conf.update(configuration(step))
    for candidate in STEPS[: step + 1]:
        if candidate.install is not None:
            candidate.install(app)
    return app


app = ablation_app(int(os.environ.get(STEP_VARIABLE, len(STEPS) - 1)))
