"""What a baked project's deployment files must agree on: the commands and the settings.

The README is the source of truth for the two worker commands and, with scheduled replay, the
beat command; compose.yaml, the chart and the Dockerfile must run exactly those. settings.py is
the source of truth for defaults.
"""

import ast
import re
import shlex
from pathlib import Path

WORKER = "worker"
DLQ_WORKER = "dlq-worker"
BEAT = "beat"
CONSOLE = "console"


def has_beat(combination: dict[str, str]) -> bool:
    """Whether the combination runs beat (scheduled replay)."""
    return combination["scheduled_replay"] == "yes"


def has_console(combination: dict[str, str]) -> bool:
    """Whether the combination has the dead-letter console."""
    return combination["dead_letter_console"] == "yes"


def package_name(project: Path) -> str:
    (package,) = (path.name for path in (project / "src").iterdir() if path.is_dir())
    return package


def without_assignments(line: str) -> str:
    """A shell command line without the `NAME=value` environment it may start with: the README
    gives a second worker on one host its own METRICS_PORT that way."""
    return re.sub(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+", "", line.strip())


def readme_commands(project: Path) -> dict[str, list[str]]:
    """The main and dead-letter worker commands, as the README tells people to run them."""
    prefix = f"celery -A {package_name(project)} worker"
    lines = {
        command
        for command in map(without_assignments, (project / "README.md").read_text().splitlines())
        if command.startswith(prefix)
    }
    commands = {DLQ_WORKER if "--queues=" in line else WORKER: shlex.split(line) for line in lines}
    assert len(lines) == len(commands) == 2, f"expected one command per worker, found {lines}"
    return commands


def settings_module(project: Path) -> ast.Module:
    return ast.parse((project / "src" / package_name(project) / "settings.py").read_text())


def settings_constant(project: Path, name: str) -> object:
    """A module-level constant of the generated settings.py, read from its source."""
    assignments = (node for node in settings_module(project).body if isinstance(node, ast.Assign))
    for assignment in assignments:
        if [ast.unparse(target) for target in assignment.targets] == [name]:
            return ast.literal_eval(assignment.value)
    raise AssertionError(f"settings.py has no constant {name}")


def shutdown_grace(project: Path, time_limit: int) -> int:
    """The seconds a stopping worker gets, as the service derives them from its time limit."""
    margin = settings_constant(project, "SHUTDOWN_MARGIN")
    assert isinstance(margin, int)
    return time_limit + margin


def readme_beat_command(project: Path) -> list[str] | None:
    """The beat command as the README gives it; None in a service generated without beat."""
    prefix = f"celery -A {package_name(project)} beat"
    lines = [
        line.strip()
        for line in (project / "README.md").read_text().splitlines()
        if line.strip().startswith(prefix)
    ]
    assert len(lines) <= 1, f"expected at most one beat command, found {lines}"
    return shlex.split(lines[0]) if lines else None


def setting_default(project: Path, name: str) -> object:
    """The default of a field of the generated `Settings`, read from its source."""
    (settings,) = (
        node
        for node in settings_module(project).body
        if isinstance(node, ast.ClassDef) and node.name == "Settings"
    )
    for statement in settings.body:
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == name
            and statement.value is not None
        ):
            value = statement.value
            if isinstance(value, ast.Call) and ast.unparse(value.func) == "Path":
                (value,) = value.args  # Path("...") holds a literal.
            return ast.literal_eval(value)
    raise AssertionError(f"Settings has no field {name} with a literal default")
