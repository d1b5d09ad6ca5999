"""Gotcha: `autoretry_for=(Exception,)` retries bugs and poison payloads too."""

from celery import Celery

from {{ cookiecutter.package_name }}.tasks.base import DLQTask

from .conftest import rules_broken


def test_exception_in_autoretry_for_is_refused(throwaway_app: Celery) -> None:
    @throwaway_app.task(shared=False, base=DLQTask, autoretry_for=(Exception,), max_retries=3)
    def retries_everything() -> None: ...

    assert rules_broken(throwaway_app, retries_everything.name) == ["catch-all"]


def test_base_exception_in_autoretry_for_is_refused(throwaway_app: Celery) -> None:
    @throwaway_app.task(
        shared=False, base=DLQTask, autoretry_for=(ConnectionError, BaseException), max_retries=3
    )
    def retries_even_exit() -> None: ...

    assert rules_broken(throwaway_app, retries_even_exit.name) == ["catch-all"]


def test_narrow_transient_classes_pass(throwaway_app: Celery) -> None:
    @throwaway_app.task(
        shared=False, base=DLQTask, autoretry_for=(ConnectionError, TimeoutError), max_retries=3
    )
    def retries_network_errors() -> None: ...

    assert rules_broken(throwaway_app, retries_network_errors.name) == []
