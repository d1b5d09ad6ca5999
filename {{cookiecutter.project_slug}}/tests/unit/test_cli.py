"""The command line reports configuration without leaking secrets."""

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import main


def test_config_show_masks_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
{%- if cookiecutter.broker == "rabbitmq" %}
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://svc:hunter2@broker.internal:5672//")
{%- else %}
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://:hunter2@broker.internal:6379/0")
{%- endif %}
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "CELERY_BROKER_URL=" in result.output
    assert "broker.internal" in result.output
    assert "hunter2" not in result.output


def test_invalid_configuration_is_an_error_message_not_a_traceback() -> None:
    # A fresh interpreter, as an operator runs it: nothing is imported before the check.
    result = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "config", "show"],
        env={**os.environ, "CELERY_TASK_TIME_LIMIT": "-5"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "CELERY_TASK_TIME_LIMIT: Input should be greater than or equal to 5" in result.stderr
    assert "Traceback" not in result.stderr


def test_topology_show_lists_both_queues() -> None:
    result = CliRunner().invoke(main, ["topology", "show"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("default:")
    assert "dead_letter:" in result.output
