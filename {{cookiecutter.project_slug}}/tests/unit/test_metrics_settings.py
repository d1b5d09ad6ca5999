"""METRICS_PORT and METRICS_GAUGE_INTERVAL are validated at start-up."""

import pytest

from {{ cookiecutter.package_name }}.settings import SettingsError, get_settings


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_an_impossible_metrics_port_is_refused(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    monkeypatch.setenv("METRICS_PORT", port)
    with pytest.raises(SettingsError, match="METRICS_PORT"):
        get_settings()


def test_metrics_port_zero_turns_the_server_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_PORT", "0")
    assert get_settings().metrics_port == 0


def test_a_gauge_interval_below_a_second_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_GAUGE_INTERVAL", "0")
    with pytest.raises(SettingsError, match="METRICS_GAUGE_INTERVAL"):
        get_settings()
