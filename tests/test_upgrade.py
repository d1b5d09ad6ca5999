"""A service generated from the template's oldest updatable commit, edited the way a team edits
it, takes `cruft update` to the template's HEAD: nothing rejected, no conflict, the team's edits
kept, the team's old `.env` refused by the name of the setting retired since, and once that line
is gone, the updated service's unit tests and policy check pass in a fresh environment.

cruft sees committed template state only, so this proves the history as committed."""

import json
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import cruft

from .options import TEMPLATE_DIR
from .projects import GeneratedProject, create_venv
from .repositories import commit_all, git

# The template's second commit. The first (d2c558f) renders a pyproject.toml whose `readme` is a
# README.md it does not generate, so that service never installs (hatchling refuses it): a team
# had to write its own README.md, and the update bringing the template's README then conflicts
# with it (both added). This commit adds the generated README.
OLDEST_UPDATABLE = "5e2a63325be218cc9d4b5fd4783ad7534676f16e"
PACKAGE = "order_worker"
CONFLICT_MARKER = b"<<<<<<<"
# In that commit's .env.example, retired since: a team's `.env` copy still sets it.
RETIRED_ON_THE_WAY = "CELERY_TASK_SOFT_TIME_LIMIT"


@dataclass(frozen=True)
class TeamEdit:
    """A change a team makes to its service: `before` replaced by `after` in the file at `path`
    (`before` empty: the team adds the file)."""

    path: str
    before: str
    after: str

    def apply(self, project: Path) -> None:
        target = project / self.path
        if not self.before:
            assert not target.exists(), f"{self.path} is the team's own file, yet it exists"
            target.write_text(self.after)
            return
        text = target.read_text()
        assert text.count(self.before) == 1, f"{self.path} no longer holds {self.before!r}"
        target.write_text(text.replace(self.before, self.after))

    def kept(self, project: Path) -> bool:
        text = (project / self.path).read_text()
        return text == self.after if not self.before else self.after in text


TEAM_EDITS = (
    # A task module of the team's own, in the house style of the generated tasks, and its test.
    TeamEdit(
        f"src/{PACKAGE}/tasks/billing.py",
        "",
        '"""Invoices for paid orders."""\n\n'
        "from datetime import date\n\n"
        "from dateutil.relativedelta import relativedelta\n\n"
        "from ..celery_app import app\n\n"
        "PAYMENT_TERMS = relativedelta(months=1)\n\n\n"
        "@app.task\n"
        "def invoice_due_date(issued_on: str) -> str:\n"
        '    """When an invoice issued on `issued_on` (an ISO date) falls due."""\n'
        "    return (date.fromisoformat(issued_on) + PAYMENT_TERMS).isoformat()\n",
    ),
    TeamEdit(
        "tests/unit/test_billing.py",
        "",
        f"from {PACKAGE}.tasks.billing import invoice_due_date\n\n\n"
        "def test_an_invoice_falls_due_a_month_after_issue() -> None:\n"
        '    assert invoice_due_date("2026-01-31") == "2026-02-28"\n',
    ),
    # The service's own vhost, as .env.example's comment above the broker URL asks.
    TeamEdit(
        ".env.example",
        "CELERY_BROKER_URL=amqp://guest:guest@localhost:5672//\n",
        "CELERY_BROKER_URL=amqp://guest:guest@localhost:5672/billing\n",
    ),
    # The README's opening says what this service is for.
    TeamEdit(
        "README.md",
        "This is a Celery worker service. Callers publish tasks to RabbitMQ;",
        "Billing's invoice worker: it issues invoices. Callers publish tasks to RabbitMQ;",
    ),
    # A dependency the team's module imports, added at the end of the list, as `uv add` does.
    TeamEdit(
        "pyproject.toml",
        '    "click>=8.1,<9",\n]\n',
        '    "click>=8.1,<9",\n    "python-dateutil>=2.9",\n]\n',
    ),
)


def drop_setting(env_file: Path, name: str) -> None:
    lines = env_file.read_text().splitlines(keepends=True)
    env_file.write_text("".join(line for line in lines if not line.startswith(f"{name}=")))


def files_with_conflict_markers(project: Path) -> list[str]:
    return [
        str(path.relative_to(project))
        for path in project.rglob("*")
        if ".git" not in path.relative_to(project).parts
        and path.is_file()
        and any(line.startswith(CONFLICT_MARKER) for line in path.read_bytes().splitlines())
    ]


def test_a_service_from_the_oldest_updatable_commit_updates_to_head(tmp_path: Path) -> None:
    repository = Path(git(TEMPLATE_DIR, "rev-parse", "--show-toplevel").strip())
    head = git(repository, "rev-parse", "HEAD").strip()
    assert git(repository, "rev-parse", "--is-shallow-repository").strip() == "false", (
        "the upgrade test needs the template's full history: clone without --depth"
    )

    project = Path(
        cruft.create(str(repository), checkout=OLDEST_UPDATABLE, output_dir=tmp_path, no_input=True)
    )
    git(project, "init", "--quiet")
    commit_all(project, "generated")
    for edit in TEAM_EDITS:
        edit.apply(project)
    commit_all(project, "the team's edits")
    # The README's quickstart: git ignores `.env`, so it outlives the update as it was.
    shutil.copy(project / ".env.example", project / ".env")

    assert cruft.update(project, checkout=head, skip_apply_ask=True) is True

    assert list(project.rglob("*.rej")) == []
    assert files_with_conflict_markers(project) == []
    assert git(project, "diff", "--name-only", "--diff-filter=U") == ""
    assert [edit.path for edit in TEAM_EDITS if not edit.kept(project)] == []
    cruft_state = json.loads((project / ".cruft.json").read_text())
    assert cruft_state["commit"] == head
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert "python-dateutil>=2.9" in pyproject["project"]["dependencies"]

    python_version = cruft_state["context"]["cookiecutter"]["python_version"]
    updated = GeneratedProject(project, {}, create_venv(project, python_version))
    refused = updated.run("python", "-m", PACKAGE, "config", "show")
    assert refused.returncode == 1
    assert f"{RETIRED_ON_THE_WAY}: the soft time limit now follows" in refused.stderr
    drop_setting(project / ".env", RETIRED_ON_THE_WAY)  # as CHANGELOG.md tells the team
    updated.check("python", "-m", PACKAGE, "config", "show")
    output = updated.check("pytest", "-q", "-rA", "-p", "no:cacheprovider", "-m", "not integration")
    assert f"PASSED {TEAM_EDITS[1].path}::test_an_invoice_falls_due_a_month_after_issue" in output
    assert " skipped" not in output
    updated.check("python", "-m", PACKAGE, "policies", "check")
