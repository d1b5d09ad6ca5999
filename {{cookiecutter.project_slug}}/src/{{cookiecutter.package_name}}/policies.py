"""Check every registered task against the retry guide's gotchas, and preview its schedule.

`python -m {{ cookiecutter.package_name }} policies check` fails, naming task and rule, when a task:
- retries a catch-all (`autoretry_for` would also retry programming errors and poison payloads);
- has `max_retries=None` (retries forever);
- retries without a dead-letter path (its final failure would vanish);
{%- if cookiecutter.broker == "redis" %}
- has a hard time limit that the visibility timeout does not outlast, times the prefetch multiplier
  (Redis would hand a message the worker still holds to a second worker); retry waits don't count:
  countdowns wait in Redis (`parking.py`);
{%- endif %}
- retries with `acks_late` off (a worker crash loses the message).
"""

from collections.abc import Iterator
from dataclasses import dataclass

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded

from .retry import RetryPolicy
from .settings import get_settings{% if cookiecutter.broker == "redis" %}, longest_hold{% endif %}
from .tasks.base import DLQTask

# A class in `autoretry_for` that catches any of these retries bugs and bad input too.
NEVER_TRANSIENT: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    SoftTimeLimitExceeded,
)


@dataclass(frozen=True)
class Violation:
    task: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.task}: [{self.rule}] {self.message}"


def application_tasks(app: Celery) -> list[Task]:  # type: ignore[type-arg]
    """The app's own tasks, without Celery's built-ins."""
    app.loader.import_default_modules()
    return [task for name, task in sorted(app.tasks.items()) if not name.startswith("celery.")]


def retried_errors(task: Task) -> tuple[type[BaseException], ...]:  # type: ignore[type-arg]
    return tuple(getattr(task, "autoretry_for", ()))


def has_dead_letter_path(app: Celery, task: Task) -> bool:  # type: ignore[type-arg]
    """The app records the final failure (DLQTask), or the broker dead-letters it (RabbitMQ DLX:
    late acks, failures rejected, and a dead-letter exchange on the task's queue)."""
    if isinstance(task, DLQTask):
        return True
    queue = app.amqp.queues.get(getattr(task, "queue", None) or app.conf.task_default_queue)
    arguments = (queue.queue_arguments if queue is not None else None) or {}
    rejected_on_failure = task.acks_late and app.conf.task_acks_on_failure is False
    return bool(rejected_on_failure and "x-dead-letter-exchange" in arguments)


{%- if cookiecutter.broker == "redis" %}


def outlasted_by_visibility(app: Celery, task: Task) -> Iterator[Violation]:  # type: ignore[type-arg]
    """A message stays unacknowledged while it waits reserved behind others and while it runs
    (`settings.longest_hold`)."""
    time_limit = int(task.time_limit or app.conf.task_time_limit or 0)
    prefetch_multiplier = int(app.conf.worker_prefetch_multiplier)
    visibility_timeout = int(app.conf.broker_transport_options["visibility_timeout"])
    held_for = longest_hold(time_limit, prefetch_multiplier)
    if held_for >= visibility_timeout:
        yield Violation(
            task.name,
            "visibility-timeout",
            f"a worker may hold it {held_for} s (hard time limit {time_limit} s times prefetch "
            f"multiplier {prefetch_multiplier}, plus a short countdown), not less than "
            f"REDIS_VISIBILITY_TIMEOUT ({visibility_timeout} s): Redis would run it twice; lower "
            "its time limit or the multiplier, or raise the timeout",
        )
{%- endif %}


def violations(app: Celery, task: Task) -> Iterator[Violation]:  # type: ignore[type-arg]
{%- if cookiecutter.broker == "redis" %}
    yield from outlasted_by_visibility(app, task)
{%- endif %}
    if task.max_retries is None:
        yield Violation(task.name, "infinite-retries", "max_retries=None retries forever")
    retried = retried_errors(task)
    if not retried:
        return
    catch_alls = [
        cls.__name__ for cls in retried if any(issubclass(never, cls) for never in NEVER_TRANSIENT)
    ]
    if catch_alls:
        yield Violation(
            task.name,
            "catch-all",
            f"autoretry_for lists {', '.join(catch_alls)}, which also catches programming errors "
            "and poison payloads; list the narrow transient classes instead",
        )
    if not has_dead_letter_path(app, task):
        yield Violation(
            task.name,
            "no-dead-letter-path",
            "it retries, but its final failure has no dead-letter path; use base=DLQTask",
        )
    if not task.acks_late:
        yield Violation(
            task.name,
            "acks-early",
            "it retries with acks_late off, so a worker crash mid-task loses the message",
        )


def check(app: Celery) -> list[Violation]:
    """Every rule every task breaks; empty when all tasks are safe."""
    return [found for task in application_tasks(app) for found in violations(app, task)]


def schedule(task: Task) -> list[str]:  # type: ignore[type-arg]
    """A task's tier, the wait before each retry, and the worst case until dead-lettering."""
    policy: RetryPolicy | None = getattr(task, "retry_policy", None)
    if policy is None:
        return [f"{task.name}: no retry policy"]
    time_limit = int(task.time_limit or get_settings().celery_task_time_limit)
    lines = [f"{task.name}: {policy.name} tier ({policy.description})"]
    for retry in range(policy.max_retries):
        shortest, longest = policy.delay_range(retry)
        lines.append(f"  retry {retry + 1}: waits {shortest}-{longest} s")
    lines.append(
        f"  dead-lettered within {policy.worst_case_seconds(time_limit)} s at worst "
        f"({policy.max_retries + 1} runs of up to {time_limit} s each, plus the waits)"
    )
    return lines
