"""Template releases: CHANGELOG.md and the version a generated service records agree, the
changelog lists every setting the service refuses as retired, and template dependencies stay
above the line where a team adds its own."""

import re
import tomllib

from .conftest import InstalledProjects
from .options import DEFAULTS, OPTIONS, TEMPLATE_DIR
from .projects import BakedProject
from .repositories import git

CHANGELOG = (TEMPLATE_DIR / "CHANGELOG.md").read_text()
RELEASE = re.compile(r"^## \[(\d+)\.(\d+)\.(\d+)\] - (\d{4}-\d{2}-\d{2})$", re.MULTILINE)
LAST_COMMIT = re.compile(r"^Last commit: `([0-9a-f]{7,40})`\.", re.MULTILINE)
SETTINGS = (
    TEMPLATE_DIR
    / "{{cookiecutter.project_slug}}"
    / "src"
    / "{{cookiecutter.package_name}}"
    / "settings.py"
)
# The last entry of the generated `dependencies`, as in the first release: a team appends its own
# after it, so template updates that add theirs above it never touch the team's lines.
LAST_TEMPLATE_DEPENDENCY = "click>=8.1,<9"


def releases() -> list[tuple[tuple[int, int, int], str]]:
    """Each released version (newest first, as written) with its date."""
    return [
        ((int(major), int(minor), int(patch)), date)
        for major, minor, patch, date in RELEASE.findall(CHANGELOG)
    ]


def test_the_changelog_opens_with_unreleased_then_newest_releases_first() -> None:
    headings = re.findall(r"^## (.*)$", CHANGELOG, re.MULTILINE)
    assert headings[0] == "[Unreleased]"
    assert len(releases()) == len(headings) - 1, "every release heading is `## [x.y.z] - date`"
    versions = [version for version, _ in releases()]
    dates = [date for _, date in releases()]
    assert versions == sorted(versions, reverse=True)
    assert len(set(versions)) == len(versions)
    assert dates == sorted(dates, reverse=True)


def test_the_latest_release_is_the_version_the_template_renders(
    installed_projects: InstalledProjects,
) -> None:
    latest = ".".join(map(str, releases()[0][0]))
    assert OPTIONS["_template_version"] == latest
    project = installed_projects.bake(DEFAULTS).path
    (module,) = project.glob("src/*/template_release.py")
    assert f'TEMPLATE_VERSION = "{latest}"' in module.read_text()


def test_each_release_names_a_commit_of_the_template_history() -> None:
    commits = LAST_COMMIT.findall(CHANGELOG)
    assert len(commits) == len(releases())
    for commit in commits:
        git(TEMPLATE_DIR, "merge-base", "--is-ancestor", commit, "HEAD")


def test_the_changelog_lists_every_setting_the_service_refuses_as_retired() -> None:
    retired_block = re.search(r"^RETIRED = \{\n(.*?)^\}", SETTINGS.read_text(), re.M | re.S)
    assert retired_block is not None
    refused = set(re.findall(r'^\s+"([A-Z0-9_]+)":', retired_block.group(1), re.MULTILINE))
    listed = set(re.findall(r"^\| `([A-Z0-9_]+)` \| \d+\.\d+\.\d+ \|", CHANGELOG, re.MULTILINE))
    assert refused
    assert listed == refused


def test_template_dependencies_stay_above_the_teams(baked: BakedProject) -> None:
    pyproject = tomllib.loads((baked.path / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"][-1] == LAST_TEMPLATE_DEPENDENCY
