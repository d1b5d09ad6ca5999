"""The deployment settings are checked at start-up like every other setting."""

import pytest

from {{ cookiecutter.package_name }}.settings import SettingsError, get_settings


def test_heartbeat_max_age_allows_for_a_late_beat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTH_HEARTBEAT_MAX_AGE", "1")
    with pytest.raises(SettingsError, match=r"HEALTH_HEARTBEAT_MAX_AGE: .* equal to 2"):
        get_settings()
