"""Gotcha: retries without a dead-letter exit: the final failure vanishes."""

from celery import Celery, Task

from .conftest import rules_broken


def test_retrying_task_without_a_dead_letter_path_is_refused(throwaway_app: Celery) -> None:
    # A plain Task records nothing, and acknowledging failures keeps them from any DLX.
    throwaway_app.conf.task_acks_on_failure = True

    @throwaway_app.task(shared=False, base=Task, autoretry_for=(ConnectionError,), max_retries=3)
    def vanishes_when_exhausted() -> None: ...

    assert rules_broken(throwaway_app, vanishes_when_exhausted.name) == ["no-dead-letter-path"]
