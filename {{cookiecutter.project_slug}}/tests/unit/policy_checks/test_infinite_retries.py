"""Gotcha: `max_retries=None` means retry forever."""

from celery import Celery

from {{ cookiecutter.package_name }}.tasks.base import DLQTask

from .conftest import rules_broken


def test_unbounded_retries_are_refused(throwaway_app: Celery) -> None:
    @throwaway_app.task(
        shared=False, base=DLQTask, autoretry_for=(ConnectionError,), max_retries=None
    )
    def retries_forever() -> None: ...

    assert rules_broken(throwaway_app, retries_forever.name) == ["infinite-retries"]
