"""The app's configuration keeps failures on the safe path."""

import pytest

from {{ cookiecutter.package_name }}.celery_app import app, build_config, task_modules
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tasks.diagnostics import ping


def test_every_module_in_the_tasks_package_is_loaded_by_the_worker() -> None:
    assert "{{ cookiecutter.package_name }}.tasks.diagnostics" in task_modules()
    app.loader.import_default_modules()
    assert "{{ cookiecutter.package_name }}.tasks.diagnostics.ping" in app.tasks


def test_only_json_is_accepted() -> None:
    assert app.conf.accept_content == ["json"]
    assert app.conf.result_accept_content == ["json"]


def test_messages_are_acknowledged_only_after_the_task_ends() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
{%- if cookiecutter.broker == "rabbitmq" %}


def test_final_failures_are_rejected_so_rabbitmq_dead_letters_them() -> None:
    assert app.conf.task_acks_on_failure is False
    assert app.conf.broker_transport_options == {"confirm_publish": True}
{%- else %}


def test_redis_visibility_timeout_comes_from_settings() -> None:
    config = build_config(Settings(_env_file=None, redis_visibility_timeout=7200))
    assert config["broker_transport_options"]["visibility_timeout"] == 7200
{%- endif %}


def test_time_limits_and_shutdown_follow_the_one_time_limit_setting() -> None:
    config = build_config(Settings(_env_file=None, celery_task_time_limit=90))
    assert (config["task_time_limit"], config["task_soft_time_limit"]) == (90, 81)
    assert config["worker_soft_shutdown_timeout"] == 9.0
    assert config["worker_enable_soft_shutdown_on_idle"] is True


def test_publishing_retries_a_bounded_number_of_times() -> None:
    config = build_config(Settings(_env_file=None, celery_publish_max_retries=2))
    assert config["task_publish_retry"] is True
    assert config["task_publish_retry_policy"]["max_retries"] == 2


@pytest.mark.parametrize("wanted", [False, True])
def test_task_events_are_sent_only_when_asked_for(wanted: bool) -> None:
    config = build_config(Settings(_env_file=None, celery_worker_send_task_events=wanted))
    assert (config["worker_send_task_events"], config["task_send_sent_event"]) == (wanted, wanted)


def test_ping_answers_pong_in_eager_mode() -> None:
    assert ping.apply().get() == "pong"
