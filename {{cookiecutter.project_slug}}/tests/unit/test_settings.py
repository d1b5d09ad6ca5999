"""Settings come from the environment, and values that can't work stop start-up clearly."""

import pytest

from {{ cookiecutter.package_name }}.settings import Settings, SettingsError, get_settings


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
    monkeypatch.setenv("CELERY_TASK_SOFT_TIME_LIMIT", "100")
    settings = Settings(_env_file=None)
    assert (settings.celery_task_time_limit, settings.celery_task_soft_time_limit) == (120, 100)


def test_invalid_number_names_the_variable_and_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "soon")
    with pytest.raises(SettingsError, match=r"CELERY_TASK_TIME_LIMIT: .*integer.*'soon'"):
        get_settings()


def test_soft_limit_must_come_before_the_hard_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "60")
    monkeypatch.setenv("CELERY_TASK_SOFT_TIME_LIMIT", "60")
    with pytest.raises(SettingsError, match="CELERY_TASK_SOFT_TIME_LIMIT must be lower"):
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


def test_visibility_timeout_must_outlast_the_hard_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_VISIBILITY_TIMEOUT", "300")
    with pytest.raises(SettingsError, match="REDIS_VISIBILITY_TIMEOUT must be longer"):
        get_settings()
{%- endif %}
