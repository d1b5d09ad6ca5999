"""Settings come from the environment, and values that can't work stop start-up clearly."""

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.celery_app import build_config
from {{ cookiecutter.package_name }}.settings import (
    MAX_PREFETCH_MULTIPLIER,
    MAX_TASK_TIME_LIMIT,
    Settings,
    SettingsError,
    get_settings,
    retired_variables,
)


def test_defaults_point_at_a_local_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = Settings(_env_file=None)
{%- if cookiecutter.broker == "rabbitmq" %}
    assert settings.celery_broker_url.get_secret_value().startswith("amqp://")
{%- else %}
    assert settings.celery_broker_url.get_secret_value().startswith("redis://")
{%- endif %}
    assert "localhost" in settings.celery_broker_url.get_secret_value()


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "120")
    monkeypatch.setenv("IDEMPOTENCY_KEY_TTL", "7200")
    settings = Settings(_env_file=None)
    assert (settings.celery_task_time_limit, settings.idempotency_key_ttl) == (120, 7200)


def test_invalid_number_names_the_variable_and_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "soon")
    with pytest.raises(SettingsError, match=r"CELERY_TASK_TIME_LIMIT: .*integer.*'soon'"):
        get_settings()


@pytest.mark.parametrize("multiplier", ["0", str(MAX_PREFETCH_MULTIPLIER + 1)])
def test_prefetch_multiplier_out_of_range_is_refused(
    monkeypatch: pytest.MonkeyPatch, multiplier: str
) -> None:
    monkeypatch.setenv("CELERY_WORKER_PREFETCH_MULTIPLIER", multiplier)
    with pytest.raises(
        SettingsError, match=rf"CELERY_WORKER_PREFETCH_MULTIPLIER: .*'{multiplier}'"
    ):
        get_settings()


def test_prefetch_multiplier_reaches_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_WORKER_PREFETCH_MULTIPLIER", "4")
    assert build_config(get_settings())["worker_prefetch_multiplier"] == 4


@pytest.mark.parametrize("limit", [5, 9, 10, 59, 300, MAX_TASK_TIME_LIMIT])
def test_every_time_bound_follows_from_the_hard_limit(limit: int) -> None:
    settings = Settings(_env_file=None, celery_task_time_limit=limit)
    # A task gets SoftTimeLimitExceeded with time left to clean up before it is killed.
    assert 1 <= settings.celery_task_soft_time_limit < limit
    # A stopping worker outlasts its running task, with time to hand its messages back.
    assert settings.worker_shutdown_grace >= limit + 10
    assert settings.worker_soft_shutdown_timeout + 10 <= settings.worker_shutdown_grace
    # A running side effect keeps its idempotency key until it can't be running any more.
    assert settings.idempotency_hold_for > limit


def test_a_retired_setting_in_the_environment_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKER_SHUTDOWN_GRACE", "330")
    with pytest.raises(SettingsError, match="WORKER_SHUTDOWN_GRACE: the shutdown grace now"):
        get_settings()


def test_a_retired_setting_in_dot_env_is_named(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CELERY_TASK_TIME_LIMIT=300\ncelery_task_soft_time_limit=270\n")
    assert retired_variables(env_file) == [
        "CELERY_TASK_SOFT_TIME_LIMIT: the soft time limit now follows CELERY_TASK_TIME_LIMIT"
    ]


@pytest.mark.parametrize("limit", ["4", str(MAX_TASK_TIME_LIMIT + 1)])
def test_time_limit_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch, limit: str) -> None:
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", limit)
    with pytest.raises(SettingsError, match="CELERY_TASK_TIME_LIMIT: Input should be"):
        get_settings()


def test_broker_url_of_the_wrong_kind_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", "http://admin:hunter2@broker.internal/")
    with pytest.raises(SettingsError, match="CELERY_BROKER_URL: must be a") as refusal:
        get_settings()
    assert "hunter2" not in str(refusal.value)


def test_secrets_are_masked_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
{%- if cookiecutter.broker == "rabbitmq" %}
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://svc:hunter2@broker.internal:5672//")
{%- else %}
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://:hunter2@broker.internal:6379/0")
{%- endif %}
    assert "hunter2" not in repr(Settings(_env_file=None))
{%- if cookiecutter.broker == "redis" %}


def test_visibility_timeout_follows_the_time_limit_unless_set() -> None:
    assert Settings(_env_file=None, celery_task_time_limit=300).visibility_timeout == 360
    assert Settings(_env_file=None, celery_task_time_limit=90).visibility_timeout == 150
    prefetching = Settings(
        _env_file=None, celery_task_time_limit=90, celery_worker_prefetch_multiplier=4
    )
    assert prefetching.visibility_timeout == 420
    explicit = Settings(_env_file=None, celery_task_time_limit=90, redis_visibility_timeout=7200)
    assert explicit.visibility_timeout == 7200


def test_visibility_timeout_must_outlast_a_task_not_its_retry_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "300")
    monkeypatch.setenv("RETRY_TRANSIENT_BACKOFF_CAP", "600")
    monkeypatch.setenv("REDIS_VISIBILITY_TIMEOUT", "302")
    with pytest.raises(SettingsError, match="REDIS_VISIBILITY_TIMEOUT must be longer than 302 s"):
        get_settings()
    get_settings.cache_clear()
    monkeypatch.setenv("REDIS_VISIBILITY_TIMEOUT", "303")
    assert get_settings().visibility_timeout == 303


def test_visibility_timeout_must_outlast_the_messages_reserved_behind_running_tasks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "300")
    monkeypatch.setenv("CELERY_WORKER_PREFETCH_MULTIPLIER", "3")
    monkeypatch.setenv("REDIS_VISIBILITY_TIMEOUT", "902")
    with pytest.raises(SettingsError, match="REDIS_VISIBILITY_TIMEOUT must be longer than 902 s"):
        get_settings()
    get_settings.cache_clear()
    monkeypatch.setenv("REDIS_VISIBILITY_TIMEOUT", "903")
    assert get_settings().visibility_timeout == 903
{%- endif %}


def test_a_queue_name_prefix_with_a_dot_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # A dot would start a new word of the routing key, which delayed delivery matches by word.
    monkeypatch.setenv("QUEUE_NAME_PREFIX", "tour.")
    with pytest.raises(SettingsError, match="QUEUE_NAME_PREFIX: String should match pattern"):
        get_settings()
