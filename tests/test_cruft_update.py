"""`cruft update` carries a template change into a service without losing the team's own edits."""

import shutil
import subprocess
from pathlib import Path

import cruft

from .options import TEMPLATE_DIR
from .repositories import commit_all

NOT_TEMPLATE = shutil.ignore_patterns(".git", ".venv*", ".cache", "__pycache__", "*_cache")


def test_update_applies_a_template_change_next_to_a_local_edit(tmp_path: Path) -> None:
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, template, ignore=NOT_TEMPLATE)
    subprocess.run(["git", "init", "--quiet", str(template)], check=True)
    commit_all(template, "template v1")

    project = cruft.create(str(template), output_dir=tmp_path / "services", no_input=True)
    subprocess.run(["git", "init", "--quiet", str(project)], check=True)
    commit_all(project, "generated")
    local_task = project / "src" / "order_worker" / "tasks" / "billing.py"
    local_task.write_text('"""The team\'s own tasks."""\n')
    commit_all(project, "team edit")

    template_env = template / "{{cookiecutter.project_slug}}" / ".env.example"
    template_env.write_text(template_env.read_text() + "\n# A template fix.\n")
    commit_all(template, "template v2")

    assert cruft.check(project) is False
    assert cruft.update(project, skip_apply_ask=True) is True
    assert list(project.rglob("*.rej")) == []
    assert "# A template fix." in (project / ".env.example").read_text()
    assert local_task.read_text() == '"""The team\'s own tasks."""\n'
    commit_all(project, "template update")
    assert cruft.check(project) is True
