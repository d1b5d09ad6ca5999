{%- if cookiecutter.broker == "redis" -%}
"""Gotcha (Redis): a retry that waits past the visibility timeout runs twice."""

from celery import Celery

from {{ cookiecutter.package_name }}.tasks.base import DLQTask

from .conftest import rules_broken


def test_backoff_cap_beyond_the_visibility_timeout_is_refused(throwaway_app: Celery) -> None:
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
    def waits_too_long() -> None: ...

    assert rules_broken(throwaway_app, waits_too_long.name) == ["visibility-timeout"]
{%- endif %}
