"""`config show` prints lines a person can paste back into `.env`: read back, each means the same
setting. Secrets stay masked, and the template release the service came from is named."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.env_lines import MASK, env_lines
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.template_release import TEMPLATE_VERSION

# Values unlike the defaults, written as people write them (a comma list with spaces, capitals).
CHANGED = {
    "LOG_REDACT_KEYS": "pin, Password,iban",
    "CELERY_WORKER_SEND_TASK_EVENTS": "true",
    "HTTP_TIMEOUT": "2.5",
    "METRICS_PORT": "0",
{%- if cookiecutter.scheduled_replay == "yes" %}
    "SCHEDULED_REPLAY_REASONS": "exhausted,rejected",
{%- endif %}
}


def config_show() -> list[str]:
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def readable(settings: Settings) -> dict[str, object]:
    """Every setting but the secrets, which `config show` masks."""
    values = settings.model_dump()
    return {name: value for name, value in values.items() if not isinstance(value, SecretStr)}


def read_back(lines: list[str], env_file: Path) -> Settings:
    """The settings that `lines`, written to a `.env` file, give a fresh start."""
    env_file.write_text("\n".join(lines) + "\n")
    return Settings(_env_file=env_file)


def test_every_printed_line_reads_back_as_the_same_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in CHANGED.items():
        monkeypatch.setenv(name, value)
    # Spaces, `#` and `$` that python-dotenv would otherwise cut short or expand.
    monkeypatch.setenv("HEALTH_DIR", str(tmp_path / "health #1 $HOME 'x'"))
    shown = Settings()
    lines = config_show()
    for name in [*CHANGED, "HEALTH_DIR"]:
        monkeypatch.delenv(name)

    assert readable(read_back(lines, tmp_path / ".env")) == readable(shown)
    assert "LOG_REDACT_KEYS=iban,password,pin" in lines


def test_other_collections_are_written_as_json(tmp_path: Path) -> None:
    class Listed(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="ENV_LINES_TEST_")

        hosts: list[str] = []
        limits: dict[str, int] = {}

    written = Listed(hosts=["a.internal", "b.internal"], limits={"fetch": 3})
    lines = list(env_lines(written))
    assert lines == [
        """ENV_LINES_TEST_HOSTS='["a.internal","b.internal"]'""",
        """ENV_LINES_TEST_LIMITS='{"fetch":3}'""",
    ]
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(lines) + "\n")
    assert Listed(_env_file=env_file) == written


def test_secrets_stay_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("DEAD_LETTER_ENCRYPTION_KEYS", key)
    monkeypatch.setenv("DEAD_LETTER_REDIS_URL", "redis://:hunter2@store.internal:6379/2")
    output = "\n".join(config_show())
    assert key not in output
    assert f"DEAD_LETTER_ENCRYPTION_KEYS={MASK}" in output
    assert "hunter2" not in output
    assert "store.internal:6379/2" in output


def test_the_template_release_is_shown() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", TEMPLATE_VERSION)
    assert config_show()[0] == f"# template release {TEMPLATE_VERSION}"
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(f"from template release {TEMPLATE_VERSION}")
