"""A freshly generated project passes its own pre-commit hooks, installed from PyPI only."""

from .options import TEMPLATE_DIR
from .projects import GeneratedProject

# Hook environments are reused across runs; they are rebuilt when the hook pins change.
PRE_COMMIT_HOME = TEMPLATE_DIR / ".cache" / "pre-commit"


def test_pre_commit_passes_on_a_fresh_project(default_project: GeneratedProject) -> None:
    default_project.check("git", "init", "--quiet")
    default_project.check("git", "add", "--all")
    output = default_project.check(
        "pre-commit", "run", "--all-files", env={"PRE_COMMIT_HOME": str(PRE_COMMIT_HOME)}
    )
    assert "Failed" not in output
