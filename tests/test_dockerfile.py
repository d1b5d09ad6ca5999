"""The Dockerfile of every combination, read instruction by instruction: its stages, user,
entrypoint, command and health check agree with the README and the chart.

`test_image.py` builds and runs one combination per broker with a real engine; what that proves
for the image's contents (no compiler, no pip in the environment, no tests, no `.env`) is not
repeated here.
"""

import json
import re

from .deployment import WORKER, package_name, readme_commands
from .projects import BakedProject

Instruction = tuple[str, str]


def instructions(project: BakedProject) -> list[Instruction]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    text = (project.path / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [
        (keyword.upper(), arguments.strip())
        for keyword, _, arguments in (line.strip().partition(" ") for line in joined.splitlines())
        if keyword
    ]


def final_stage(project: BakedProject) -> list[Instruction]:
    steps = instructions(project)
    last_from = max(index for index, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form CMD or ENTRYPOINT; shell form is an error."""
    parsed = json.loads(arguments)
    assert isinstance(parsed, list), f"not exec form: {arguments}"
    return [str(part) for part in parsed]


def test_image_is_built_in_stages_from_slim_python(baked: BakedProject) -> None:
    steps = instructions(baked)
    assert ("ARG", f"PYTHON_VERSION={baked.combination['python_version']}") in steps
    bases = [arguments for keyword, arguments in steps if keyword == "FROM"]
    assert bases == [
        "python:${PYTHON_VERSION}-slim AS build",
        "python:${PYTHON_VERSION}-slim AS runtime",
    ]


def test_image_runs_as_an_unprivileged_user(baked: BakedProject) -> None:
    users = [arguments for keyword, arguments in final_stage(baked) if keyword == "USER"]
    assert users == ["10001:10001"]


def test_celery_gets_sigterm_from_tini_and_runs_the_readme_command(baked: BakedProject) -> None:
    stage = dict(final_stage(baked))
    # tini without -g sends SIGTERM to Celery alone, never to its pool processes' group.
    assert exec_form(stage["ENTRYPOINT"]) == ["tini", "--"]
    assert exec_form(stage["CMD"]) == readme_commands(baked.path)[WORKER]


def test_healthcheck_is_the_liveness_probe(baked: BakedProject) -> None:
    (healthcheck,) = (
        arguments for keyword, arguments in final_stage(baked) if keyword == "HEALTHCHECK"
    )
    options, _, command = healthcheck.partition(" CMD ")
    assert "--start-period=" in options
    assert exec_form(command) == ["python", "-m", f"{package_name(baked.path)}.health", "liveness"]
