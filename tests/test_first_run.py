"""A new service's first minutes: `scripts/generate` prints the README's commands that get it
running, and without the examples the README's first task passes every check as written."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import InstalledProjects
from .deployment import package_name
from .options import COMBINATIONS, TEMPLATE_DIR
from .projects import COMMAND_TIMEOUT, GeneratedProject
from .repositories import commit_all, git

NOT_TEMPLATE = shutil.ignore_patterns(".git", ".venv*", ".cache", "__pycache__", "*_cache")
FENCE = re.compile(r"^```\w*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def template_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template's working tree committed to a repository of its own (cruft clones what is
    committed), sharing the template's virtual environment so that bootstrap installs nothing."""
    template = tmp_path_factory.mktemp("template") / "template"
    shutil.copytree(TEMPLATE_DIR, template, ignore=NOT_TEMPLATE)
    (template / ".venv-template").symlink_to(TEMPLATE_DIR / ".venv-template")
    git(template, "init", "--quiet")
    commit_all(template, "the template as it is")
    return template


def readme_code_lines(readme: str) -> list[str]:
    """Every line of the README's code blocks, without its trailing comment."""
    blocks = FENCE.findall(readme)
    return [re.sub(r"\s+# .*$", "", line) for block in blocks for line in block.splitlines()]


@pytest.mark.parametrize("examples", ["yes", "no"])
def test_generate_prints_the_commands_of_the_new_services_readme(
    template_copy: Path, tmp_path: Path, examples: str
) -> None:
    home, output = tmp_path / "home", tmp_path / "output"
    home.mkdir()
    output.mkdir()
    answers = json.dumps({"project_name": "Ledger Sync", "examples": examples})
    result = subprocess.run(
        [template_copy / "scripts" / "generate", "--no-input", "--extra-context", answers],
        cwd=output,
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    project = output / "ledger-sync"
    code_lines = readme_code_lines((project / "README.md").read_text())
    *_, change_directory, install, start = result.stdout.strip().splitlines()
    assert change_directory.strip() == "cd ./ledger-sync"
    assert install.strip() in code_lines
    assert "pip install -e '.[dev]'" in install
    assert start.strip() in code_lines
    if examples == "yes":
        assert start.strip().startswith("python -m ledger_sync tour")
    else:
        assert start.strip().startswith("celery -A ledger_sync worker")


def first_task(readme: str) -> str:
    """The module the README's "Your first task" section shows."""
    section = readme.split("### Your first task", 1)[1]
    module = FENCE.search(section)
    assert module is not None, "the first task's code block"
    return module.group(1)


@pytest.fixture(scope="module")
def without_examples(installed_projects: InstalledProjects) -> GeneratedProject:
    """A baked and installed service without the examples, as the bake matrix has it."""
    combination = next(c for c in COMBINATIONS if c["examples"] == "no")
    return installed_projects.get(combination)


def test_the_readmes_first_task_passes_the_services_checks(
    without_examples: GeneratedProject,
) -> None:
    project = without_examples
    package = package_name(project.path)
    module = project.path / "src" / package / "tasks" / "invoices.py"
    module.write_text(first_task((project.path / "README.md").read_text()))
    try:
        project.check("ruff", "check", str(module))
        project.check("ruff", "format", "--check", str(module))
        project.check("mypy", str(module))
        project.check("python", "-m", package, "policies", "check")
        shown = project.check("python", "-m", package, "policies", "show")
    finally:
        module.unlink()
    assert f"{package}.tasks.invoices.push_invoice: transient tier" in shown
