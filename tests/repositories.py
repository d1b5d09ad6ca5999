"""Git repositories the cruft tests make: a template history and services generated from it."""

import os
import subprocess
from pathlib import Path

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


def git(repository: Path, *arguments: str) -> str:
    """Run `git arguments` in `repository` and return what it printed."""
    result = subprocess.run(
        ["git", *arguments],
        cwd=repository,
        env={**os.environ, **GIT_IDENTITY},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def commit_all(repository: Path, message: str) -> None:
    """Commit every change in `repository`, new files included."""
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "-m", message)
