"""Every option combination bakes cleanly, and every option changes something real."""

import re
from fnmatch import fnmatch
from pathlib import Path

from pytest_cookies.plugin import Cookies

from .deployment import has_beat, package_name
from .options import OPTIONS
from .projects import BakedProject, bake

LEFTOVER = re.compile(r"\{\{\s*cookiecutter\.|\{%|%\}")
# Files copied without rendering may be templates of their own (the chart's, the console's Jinja
# pages); only a cookiecutter variable left in them is a mistake.
COOKIECUTTER_LEFTOVER = re.compile(r"\{\{\s*cookiecutter\.")


def unrendered_patterns() -> list[str]:
    """The paths cookiecutter copies without rendering (`_copy_without_render`)."""
    patterns = OPTIONS["_copy_without_render"]
    assert isinstance(patterns, list)
    return [str(pattern) for pattern in patterns]


UNRENDERED = unrendered_patterns()


def generated_files(root: Path) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and ".venv" not in path.relative_to(root).parts
    ]


def leftover_syntax(relative: str) -> re.Pattern[str]:
    """What must not be left in the generated file at `relative`."""
    unrendered = any(fnmatch(relative, pattern) for pattern in UNRENDERED)
    return COOKIECUTTER_LEFTOVER if unrendered else LEFTOVER


def test_no_template_syntax_is_left_in_any_file(baked: BakedProject) -> None:
    leftovers = [
        str(path.relative_to(baked.path))
        for path in generated_files(baked.path)
        if leftover_syntax(str(path.relative_to(baked.path))).search(
            path.read_text(errors="replace")
        )
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


SCHEDULED_REPLAY_FILES = (
    "src/{package}/deadletter/scheduled.py",
    "tests/unit/test_scheduled_replay.py",
    "tests/integration/test_scheduled_replay.py",
    "chart/templates/beat.yaml",
)
SCHEDULED_REPLAY_CODE = re.compile(r"scheduled_replay|beat_schedule|replay_due", re.IGNORECASE)


def test_scheduled_replay_option_adds_beat_or_leaves_no_trace(baked: BakedProject) -> None:
    wanted = has_beat(baked.combination)
    package = package_name(baked.path)
    for relative in SCHEDULED_REPLAY_FILES:
        assert (baked.path / relative.format(package=package)).exists() is wanted, relative
    mentioning = {
        str(path.relative_to(baked.path))
        for path in generated_files(baked.path)
        if SCHEDULED_REPLAY_CODE.search(path.read_text(errors="replace"))
    }
    if not wanted:
        assert mentioning == set()
        return
    assert {".env.example", "README.md", "chart/values.yaml", f"src/{package}/settings.py"} <= (
        mentioning
    )


def test_scheduled_replay_settings_are_documented(baked: BakedProject) -> None:
    settings = (baked.path / "src" / package_name(baked.path) / "settings.py").read_text()
    names = [name.upper() for name in re.findall(r"^    (scheduled_replay_\w+):", settings, re.M)]
    if has_beat(baked.combination):
        assert len(names) == 4
    env_example = (baked.path / ".env.example").read_text()
    readme = (baked.path / "README.md").read_text()
    for name in names:
        assert f"\n{name}=" in env_example
        assert f"| `{name}` |" in readme


def test_slug_and_package_are_derived_from_the_name(cookies: Cookies) -> None:
    project = bake(cookies, project_name="Billing Events")
    assert project.name == "billing-events"
    assert (project / "src" / "billing_events" / "celery_app.py").is_file()
