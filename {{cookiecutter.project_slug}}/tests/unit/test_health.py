"""The probes answer from the health files alone, cheaply, through both command lines."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import main as cli
from {{ cookiecutter.package_name }}.health import (
    DEFAULT_DIRECTORY,
    DEFAULT_HEARTBEAT_MAX_AGE,
    HEARTBEAT,
    READY,
    liveness,
    main,
    readiness,
)
from {{ cookiecutter.package_name }}.settings import Settings


@pytest.fixture
def health_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEALTH_DIR", str(tmp_path))
    monkeypatch.setenv("HEALTH_HEARTBEAT_MAX_AGE", "5")
    return tmp_path


def beat(directory: Path, seconds_ago: float) -> None:
    heartbeat = directory / HEARTBEAT
    heartbeat.touch()
    then = time.time() - seconds_ago
    os.utime(heartbeat, (then, then))


def test_liveness_needs_a_fresh_heartbeat(tmp_path: Path) -> None:
    assert liveness(tmp_path, max_age=5) == (
        f"no heartbeat file in {tmp_path}: the worker has not started"
    )
    beat(tmp_path, seconds_ago=1)
    assert liveness(tmp_path, max_age=5) is None
    beat(tmp_path, seconds_ago=9)
    assert liveness(tmp_path, max_age=5) == (
        "the heartbeat is 9 s old (limit 5 s): the worker is hung or gone"
    )


def test_readiness_needs_the_ready_file(tmp_path: Path) -> None:
    assert readiness(tmp_path) is not None
    (tmp_path / READY).touch()
    assert readiness(tmp_path) is None


def test_probe_exit_status_is_0_yes_1_no_2_usage(
    health_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["readiness"]) == 1
    assert "no ready file" in capsys.readouterr().err
    (health_dir / READY).touch()
    beat(health_dir, seconds_ago=0)
    assert (main(["readiness"]), main(["liveness"])) == (0, 0)
    assert main(["status"]) == 2


def test_probe_refuses_a_max_age_that_is_not_a_number(
    health_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEALTH_HEARTBEAT_MAX_AGE", "soon")
    assert main(["liveness"]) == 2
    error = capsys.readouterr().err
    assert "HEALTH_HEARTBEAT_MAX_AGE: not a whole number of seconds ('soon')" in error


def test_command_line_gives_the_same_answers(health_dir: Path) -> None:
    beat(health_dir, seconds_ago=9)
    stale = CliRunner().invoke(cli, ["health", "liveness"])
    assert stale.exit_code == 1
    assert "the heartbeat is 9 s old (limit 5 s)" in stale.output
    beat(health_dir, seconds_ago=0)
    (health_dir / READY).touch()
    for probe in ("liveness", "readiness"):
        result = CliRunner().invoke(cli, ["health", probe])
        assert (result.exit_code, result.output) == (0, f"{probe}: ok\n")


def test_probe_and_settings_agree_on_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HEALTH_DIR", "HEALTH_HEARTBEAT_MAX_AGE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.health_dir == DEFAULT_DIRECTORY
    assert settings.health_heartbeat_max_age == DEFAULT_HEARTBEAT_MAX_AGE


def test_probe_loads_neither_the_app_nor_the_settings() -> None:
    # A fresh interpreter, as a kubelet runs the probe.
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, {{ cookiecutter.package_name }}.health; print(' '.join(sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not {"celery", "kombu", "pydantic", "pydantic_settings", "click"} & set(loaded)
