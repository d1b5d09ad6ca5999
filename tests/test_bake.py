"""Every option combination bakes cleanly, and every option changes something real."""

import re
from pathlib import Path

from pytest_cookies.plugin import Cookies

from .projects import BakedProject, bake

LEFTOVER = re.compile(r"\{\{\s*cookiecutter\.|\{%|%\}")


def generated_files(root: Path) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and ".venv" not in path.relative_to(root).parts
    ]


def test_no_template_syntax_is_left_in_any_file(baked: BakedProject) -> None:
    leftovers = [
        str(path.relative_to(baked.path))
        for path in generated_files(baked.path)
        if LEFTOVER.search(path.read_text(errors="replace"))
    ]
    assert leftovers == []


def test_broker_option_selects_the_broker(baked: BakedProject) -> None:
    scheme = {"rabbitmq": "amqp://", "redis": "redis://"}[baked.combination["broker"]]
    env_example = (baked.path / ".env.example").read_text()
    assert f"CELERY_BROKER_URL={scheme}" in env_example


def test_result_backend_option_keeps_or_drops_results(baked: BakedProject) -> None:
    keeps_results = baked.combination["result_backend"] == "redis"
    env_example = (baked.path / ".env.example").read_text()
    assert ("CELERY_RESULT_BACKEND=" in env_example) is keeps_results
    result_test = baked.path / "tests" / "integration" / "test_result_backend.py"
    assert result_test.exists() is keeps_results


def test_python_version_option_sets_the_floor(baked: BakedProject) -> None:
    version = baked.combination["python_version"]
    pyproject = (baked.path / "pyproject.toml").read_text()
    assert f'requires-python = ">={version}"' in pyproject
    assert f'python_version = "{version}"' in pyproject


def test_slug_and_package_are_derived_from_the_name(cookies: Cookies) -> None:
    project = bake(cookies, project_name="Billing Events")
    assert project.name == "billing-events"
    assert (project / "src" / "billing_events" / "celery_app.py").is_file()
