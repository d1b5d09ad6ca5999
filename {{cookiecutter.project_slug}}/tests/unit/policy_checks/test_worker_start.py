"""A worker runs the policy checker as it starts, and refuses to run an unsafe task."""

import os

import pytest
from celery import Celery

from {{ cookiecutter.package_name }}.startup import refuse_unsafe_policies
from {{ cookiecutter.package_name }}.tasks.base import DLQTask


def test_a_worker_with_an_unsafe_task_exits_with_the_broken_rule(
    throwaway_app: Celery, caplog: pytest.LogCaptureFixture
) -> None:
    @throwaway_app.task(shared=False, base=DLQTask, autoretry_for=(Exception,), max_retries=3)
    def retries_everything() -> None: ...

    with pytest.raises(SystemExit) as exit_:
        refuse_unsafe_policies(throwaway_app)
    assert exit_.value.code == os.EX_CONFIG
    assert "cannot start: unsafe retry policies" in caplog.text
    assert f"{retries_everything.name}: [catch-all]" in caplog.text
