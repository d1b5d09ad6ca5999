"""Gotcha: retries with early acknowledgement: a crash mid-task loses the message."""

from celery import Celery

from {{ cookiecutter.package_name }}.tasks.base import DLQTask

from .conftest import rules_broken


def test_retrying_task_with_acks_late_off_is_refused(throwaway_app: Celery) -> None:
    @throwaway_app.task(
        shared=False,
        base=DLQTask,
        autoretry_for=(ConnectionError,),
        max_retries=3,
        acks_late=False,
    )
    def acked_before_it_runs() -> None: ...

    assert rules_broken(throwaway_app, acked_before_it_runs.name) == ["acks-early"]
