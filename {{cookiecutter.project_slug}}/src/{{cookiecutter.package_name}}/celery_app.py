"""The Celery application, and every setting that decides what happens when a task fails."""

import pkgutil
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup{% if cookiecutter.broker == "redis" %}, task_failure{% endif %}

from . import topology
{%- if cookiecutter.broker == "redis" %}
from .countdown_mover import install_countdown_mover
{%- endif %}
from .deadletter.consumer import DeadLetterConsumer
from .deadletter.retention import Retention
{%- if cookiecutter.scheduled_replay == "yes" %}
from .deadletter.scheduled import beat_schedule
{%- endif %}
{%- if cookiecutter.broker == "redis" %}
from .deadletter.signals import record_rejection
{%- endif %}
from .heartbeat import install_health_checks
from .logs import install_log_format
from .metrics.server import install_metrics
{%- if cookiecutter.broker == "redis" %}
from .recovery import install_dead_worker_recovery
from .redis_transport import TRANSPORT
{%- endif %}
from .settings import Settings, get_settings
from .startup import prepare_worker
from .withheld_bodies import withhold_refused_bodies

TASKS_PACKAGE = f"{__package__}.tasks"
{%- if cookiecutter.broker == "redis" %}
RESTORE_INTERVAL = 10
{%- endif %}


def task_modules() -> list[str]:
    """Every module in the tasks package: adding a module there needs no registration."""
    tasks_dir = Path(__file__).with_name("tasks")
    return sorted(
        f"{TASKS_PACKAGE}.{module.name}" for module in pkgutil.iter_modules([str(tasks_dir)])
    )


def build_config(settings: Settings) -> dict[str, Any]:
    """Celery's configuration for these settings."""
    return {
        "broker_url": settings.celery_broker_url.get_secret_value(),
{%- if cookiecutter.result_backend == "redis" %}
        "result_backend": settings.celery_result_backend.get_secret_value(),
        "result_extended": True,
{%- else %}
        "task_ignore_result": True,
{%- endif %}
        # JSON only: a worker that accepts pickle runs whatever code a message carries.
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_serializer": "json",
        "result_serializer": "json",
        # Events let `celery events` show task-retried / task-failed as they happen. Off unless
        # asked for: each costs a publish, and the metrics count every task without them.
        "worker_send_task_events": settings.celery_worker_send_task_events,
        "task_send_sent_event": settings.celery_worker_send_task_events,
        # At-least-once delivery: a message is acknowledged only once its task has finished,
        # a worker that dies mid-task hands the message back, and (prefetch 1 by default) no
        # worker hoards messages it isn't running.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": settings.celery_worker_prefetch_multiplier,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
{%- if cookiecutter.broker == "rabbitmq" %}
        # A failed task's message is rejected, not acknowledged, so RabbitMQ dead-letters it.
        "task_acks_on_failure": False,
{%- else %}
        # Redis deletes a rejected message, so failures are acknowledged and the application
        # records the dead letter itself.
        "task_acks_on_failure": True,
{%- endif %}
        # Rejecting a hard-timed-out message requeues it, which would loop forever: acknowledge
        # it and let the failure path record it instead.
        "task_acks_on_timeout": True,
        "task_time_limit": settings.celery_task_time_limit,
        "task_soft_time_limit": settings.celery_task_soft_time_limit,
        # SIGTERM is a warm shutdown: running tasks finish (within their time limit), then the
        # worker hands back the messages it holds. A cold shutdown first waits a short while,
        # idle or not, so held messages{% if cookiecutter.broker == "redis" %} (countdown retries among them){% endif %} are handed back too.
        "worker_soft_shutdown_timeout": float(settings.worker_soft_shutdown_timeout),
        "worker_enable_soft_shutdown_on_idle": True,
        # A publish either reaches the broker or raises to the caller after bounded retries.
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": settings.celery_publish_max_retries,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 2,
        },
        "broker_connection_retry_on_startup": True,
{%- if cookiecutter.broker == "rabbitmq" %}
        "broker_transport_options": {"confirm_publish": True},
        "task_queues": topology.task_queues(settings),
{%- else %}
        # kombu's Redis transport, with countdowns parked in Redis rather than held by workers
        # and each delivery recorded with the worker holding it (redis_transport.py).
        "broker_transport": TRANSPORT,
        "broker_transport_options": {
            # The last resort: a dead worker's messages return within seconds (recovery.py).
            "visibility_timeout": settings.visibility_timeout,
            # Every 10 s each worker returns to the queue the messages held past the visibility
            # timeout; kombu's default looks only every 100 s.
            "unacked_restore_interval": RESTORE_INTERVAL,
            "unacked_restore_throttle": 1,
        },
        "task_queues": topology.TASK_QUEUES,
{%- endif %}
        "task_default_queue": topology.WORK_QUEUE,
        "task_default_exchange": topology.TASK_EXCHANGE.name,
        "task_default_exchange_type": topology.TASK_EXCHANGE.type,
        "task_default_routing_key": topology.WORK_QUEUE,
        # Routing to a queue this module doesn't declare is an error, not a silent new queue.
        "task_create_missing_queues": False,
        "include": task_modules(),
        "worker_consumer": DeadLetterConsumer,
{%- if cookiecutter.scheduled_replay == "yes" %}
        # Read by `celery beat` (one process per deployment): scheduled replay of dead letters.
        "beat_schedule": beat_schedule(settings),
{%- endif %}
        "enable_utc": True,
        "timezone": "UTC",
    }


def create_app(settings: Settings) -> Celery:
    """A Celery app configured from `settings`."""
    app = Celery(__package__)
    app.conf.update(build_config(settings))
    install_health_checks(app, settings.health_dir)
{%- if cookiecutter.broker == "redis" %}
    install_countdown_mover(app)
    install_dead_worker_recovery(app)
{%- endif %}
    install_metrics(app)
    install_log_format(app, settings.log_format)
    withhold_refused_bodies()
    app.steps["worker"].add(Retention)
    return app


app = create_app(get_settings())
celeryd_after_setup.connect(prepare_worker, weak=False, dispatch_uid=f"{__package__}.startup")
{%- if cookiecutter.broker == "redis" %}
task_failure.connect(record_rejection, weak=False, dispatch_uid=f"{__package__}.rejections")
{%- endif %}
