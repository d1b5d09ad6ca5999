"""The deployment settings are checked at start-up like every other setting."""

import pytest

from {{ cookiecutter.package_name }}.settings import SettingsError, get_settings


def test_shutdown_grace_outlasts_the_hard_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "300")
    monkeypatch.setenv("WORKER_SHUTDOWN_GRACE", "309")
    with pytest.raises(
        SettingsError, match=r"WORKER_SHUTDOWN_GRACE must be at least CELERY_TASK_TIME_LIMIT \+ 10"
    ):
        get_settings()
    get_settings.cache_clear()
    monkeypatch.setenv("WORKER_SHUTDOWN_GRACE", "310")
    assert get_settings().worker_shutdown_grace == 310


def test_heartbeat_max_age_allows_for_a_late_beat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTH_HEARTBEAT_MAX_AGE", "1")
    with pytest.raises(SettingsError, match=r"HEALTH_HEARTBEAT_MAX_AGE: .* equal to 2"):
        get_settings()
