"""Gotcha (Redis): a task still running when the visibility timeout passes runs twice.

Retry waits no longer count: countdowns wait in Redis, not in a worker (parking.py). Messages
reserved behind running tasks do (the prefetch multiplier)."""

from celery import Celery

from {{ cookiecutter.package_name }}.tasks.base import DLQTask

from .conftest import rules_broken


def test_time_limit_the_visibility_timeout_does_not_outlast_is_refused(
    throwaway_app: Celery,
) -> None:
    throwaway_app.conf.broker_transport_options = {"visibility_timeout": 900}

    @throwaway_app.task(shared=False, base=DLQTask, time_limit=900)
    def runs_too_long() -> None: ...

    assert rules_broken(throwaway_app, runs_too_long.name) == ["visibility-timeout"]


def test_messages_reserved_behind_running_tasks_count_toward_the_hold(
    throwaway_app: Celery,
) -> None:
    throwaway_app.conf.broker_transport_options = {"visibility_timeout": 900}
    throwaway_app.conf.worker_prefetch_multiplier = 3

    @throwaway_app.task(shared=False, base=DLQTask, time_limit=299)
    def waits_behind_two_others() -> None: ...

    @throwaway_app.task(shared=False, base=DLQTask, time_limit=300)
    def may_wait_too_long() -> None: ...

    assert rules_broken(throwaway_app, waits_behind_two_others.name) == []
    assert rules_broken(throwaway_app, may_wait_too_long.name) == ["visibility-timeout"]


def test_long_retry_waits_are_no_concern_of_the_visibility_timeout(
    throwaway_app: Celery,
) -> None:
    throwaway_app.conf.broker_transport_options = {"visibility_timeout": 900}
    throwaway_app.conf.task_time_limit = 300

    @throwaway_app.task(
        shared=False,
        base=DLQTask,
        autoretry_for=(ConnectionError,),
        max_retries=10,
        retry_backoff=2,
        retry_backoff_max=3600,
    )
    def waits_an_hour_between_retries() -> None: ...

    assert rules_broken(throwaway_app, waits_an_hour_between_retries.name) == []
