"""The CI configuration each `ci` choice generates: valid against its published schema, clean under
zizmor, and running the README's own commands.

Offline: check-jsonschema validates against the schemas it vendors (`--builtin-schema`), zizmor
runs `--offline`, and both run with a proxy that refuses every connection, so an attempted
download fails the test. Each distinct file is checked once per run.

The README is the source of truth for the commands: every job runs the README commands it is
named for, and any project command a job runs (pytest, ruff, mypy, pip, helm, docker, the
service's CLI) is one the README gives, word for word. The services are the images compose.yaml
runs, and the chart is checked with the Helm version the template's own chart tests use.
"""

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import helm_python
import pytest
import yaml

from .conftest import InstalledProjects
from .deployment import package_name
from .options import COMBINATIONS, combination_id
from .projects import BakedProject

Command = tuple[str, ...]
Job = dict[str, Any]

# No network: a download through this proxy fails at once.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}

GITHUB_WORKFLOWS = (".github/workflows/ci.yml", ".github/workflows/chaos.yml")
GITHUB_ACTION = ".github/actions/python/action.yml"
DEPENDABOT = ".github/dependabot.yml"
GITLAB_CI = ".gitlab-ci.yml"

# A remote action pinned to a full commit, with the release it is as a comment.
PINNED = re.compile(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+")


def readme_job_commands(package: str) -> dict[str, tuple[Command, ...]]:
    """What each job runs, as the start of the README command it must run word for word."""
    install: Command = ("pip", "install")
    return {
        "lint": (
            install,
            ("ruff", "check"),
            ("ruff", "format"),
            ("mypy",),
            ("python", "-m", package, "policies", "check"),
        ),
        "unit": (install, ("pytest", "-m", "not integration")),
        "integration": (install, ("pytest", "tests/integration")),
        "chaos": (install, ("pytest", "-m", "chaos")),
        "chart": (("helm", "lint"), ("helm", "template")),
        "build-image": (("docker", "build"),),
    }


def project_programs(package: str) -> tuple[Command, ...]:
    """Command starts that only the README may spell: a job running one runs a README command."""
    return (
        ("pytest",),
        ("ruff",),
        ("mypy",),
        ("pip",),
        ("helm",),
        ("docker",),
        ("python", "-m", package),
    )


def without_environment(words: list[str]) -> list[str]:
    """A command without the `NAME=value` environment it may start with."""
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        words = words[1:]
    return words


def commands(line: str) -> Iterator[list[str]]:
    """The commands of one shell line, `a && b` split, comments dropped, environment kept."""
    command: list[str] = []
    for word in shlex.split(line, comments=True):
        if word == "&&":
            yield command
            command = []
        else:
            command.append(word)
    if command:
        yield command


def readme_lines(project: Path) -> list[str]:
    """Every line of the README's `sh` code blocks, continuation lines joined."""
    blocks = re.findall(r"^```sh\n(.*?)^```", (project / "README.md").read_text(), re.M | re.S)
    return [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]


def readme_commands(project: Path) -> set[Command]:
    return {
        tuple(without_environment(command))
        for line in readme_lines(project)
        for command in commands(line)
    }


def readme_broker_url(project: Path) -> str:
    """The CELERY_BROKER_URL the README runs the integration tests with."""
    (url,) = {
        word.partition("=")[2]
        for line in readme_lines(project)
        for command in commands(line)
        for word in command
        if word.startswith("CELERY_BROKER_URL=") and without_environment(command) == ["pytest"]
    }
    return url


def starts_with(command: Command, start: Command) -> bool:
    return command[: len(start)] == start


@functools.cache
def run_offline(*command: str, text: str, suffix: str) -> subprocess.CompletedProcess[str]:
    """`command` with a copy of `text` as its last argument, where nothing can be downloaded."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, f"checked{suffix}")
        path.write_text(text)
        return subprocess.run(
            [*command, str(path)],
            capture_output=True,
            text=True,
            env={**os.environ, **OFFLINE},
            timeout=120,
            check=False,
        )


def assert_valid(project: BakedProject, relative: str, schema: str) -> None:
    result = run_offline(
        sys.executable,
        "-m",
        "check_jsonschema",
        "--builtin-schema",
        schema,
        text=(project.path / relative).read_text(),
        suffix=Path(relative).suffix,
    )
    assert result.returncode == 0, f"{relative}:\n{result.stdout}{result.stderr}"


def zizmor() -> str:
    executable = shutil.which("zizmor") or str(Path(sys.executable).with_name("zizmor"))
    if not Path(executable).exists():
        pytest.fail("zizmor is needed: scripts/test installs requirements-test.txt", pytrace=False)
    return executable


def load(project: BakedProject, relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((project.path / relative).read_text())
    return loaded


def compose_images(project: BakedProject) -> set[str]:
    services = load(project, "compose.yaml")["services"].values()
    return {service["image"] for service in services if "image" in service}


def run_lines(steps: list[dict[str, Any]], action: dict[str, Any]) -> list[str]:
    """The shell lines of a GitHub job's steps, with the local action's steps in its place."""
    lines: list[str] = []
    for step in steps:
        if step.get("uses") == f"./{Path(GITHUB_ACTION).parent}":
            lines += run_lines(action["runs"]["steps"], action)
        lines += str(step.get("run", "")).splitlines()
    return lines


def github_jobs(project: BakedProject) -> dict[str, Job]:
    jobs: dict[str, Job] = {}
    for workflow in GITHUB_WORKFLOWS:
        jobs.update(load(project, workflow)["jobs"])
    return jobs


def gitlab_job(config: dict[str, Any], name: str) -> Job:
    """A GitLab job with its `extends` merged in, as GitLab merges them: hashes deeply, the
    job's own keys last."""
    job: Job = config[name]
    extended = job.get("extends", [])
    merged: Job = {}
    for parent in [extended] if isinstance(extended, str) else extended:
        merged = deep_merge(merged, gitlab_job(config, parent))
    return deep_merge(merged, job)


def deep_merge(base: Job, override: Job) -> Job:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def gitlab_jobs(project: BakedProject) -> dict[str, Job]:
    config = load(project, GITLAB_CI)
    return {
        name: gitlab_job(config, name)
        for name, value in config.items()
        if isinstance(value, dict)
        and ("script" in value or "extends" in value)
        and not name.startswith(".")
    }


def job_commands(lines: list[str]) -> list[list[str]]:
    return [command for line in lines for command in commands(line)]


def assert_runs_the_readme_commands(
    project: BakedProject, jobs: dict[str, list[list[str]]]
) -> None:
    package = package_name(project.path)
    readme = readme_commands(project.path)
    expected = readme_job_commands(package)
    assert set(jobs) == set(expected)
    for name, run in jobs.items():
        ran = {tuple(without_environment(command)) for command in run}
        for start in expected[name]:
            matches = [command for command in readme if starts_with(command, start)]
            assert len(matches) == 1, f"the README should give one {shlex.join(start)}: {matches}"
            (command,) = matches
            assert command in ran, f"job {name} does not run the README's {shlex.join(command)}"
        for command in ran:
            if any(starts_with(command, start) for start in project_programs(package)):
                assert command in readme, f"job {name} runs {shlex.join(command)}, not in README"


def ci_projects(choice: str) -> list[dict[str, str]]:
    return [combination for combination in COMBINATIONS if combination["ci"] == choice]


@pytest.fixture(scope="session", params=ci_projects("github"), ids=combination_id)
def github(request: pytest.FixtureRequest, installed_projects: InstalledProjects) -> BakedProject:
    """The baked combinations with GitHub Actions."""
    return installed_projects.bake(request.param)


@pytest.fixture(scope="session", params=ci_projects("gitlab"), ids=combination_id)
def gitlab(request: pytest.FixtureRequest, installed_projects: InstalledProjects) -> BakedProject:
    """The baked combinations with GitLab CI."""
    return installed_projects.bake(request.param)


def test_github_files_validate_against_their_schemas(github: BakedProject) -> None:
    for workflow in GITHUB_WORKFLOWS:
        assert_valid(github, workflow, "vendor.github-workflows")
    assert_valid(github, GITHUB_ACTION, "vendor.github-actions")
    assert_valid(github, DEPENDABOT, "vendor.dependabot")


def test_gitlab_ci_validates_against_its_schema(gitlab: BakedProject) -> None:
    assert_valid(gitlab, GITLAB_CI, "vendor.gitlab-ci")


def test_zizmor_finds_nothing_of_medium_severity_or_worse(github: BakedProject) -> None:
    result = subprocess.run(
        [zizmor(), "--offline", "--min-severity", "medium", ".github"],
        cwd=github.path,
        capture_output=True,
        text=True,
        env={**os.environ, **OFFLINE},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_jobs_run_the_readme_commands(github: BakedProject) -> None:
    action = load(github, GITHUB_ACTION)
    jobs = {
        name: job_commands(run_lines(job["steps"], action))
        for name, job in github_jobs(github).items()
    }
    assert_runs_the_readme_commands(github, jobs)


def test_gitlab_jobs_run_the_readme_commands(gitlab: BakedProject) -> None:
    jobs = {
        name: job_commands([*job.get("before_script", []), *job["script"]])
        for name, job in gitlab_jobs(gitlab).items()
    }
    assert_runs_the_readme_commands(gitlab, jobs)


def test_github_tests_use_the_readmes_broker_and_composes_images(github: BakedProject) -> None:
    readme_url = readme_broker_url(github.path)
    images = compose_images(github)
    for name in ("integration", "chaos"):
        job = github_jobs(github)[name]
        assert job["env"]["CELERY_BROKER_URL"] == readme_url
        for service in job.get("services", {}).values():
            assert service["image"] in images
    assert github_jobs(github)["unit"]["services"]["redis"]["image"] in images


def on_localhost(url: str) -> str:
    """`url` with its host replaced by localhost, where the README's commands find the broker."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.replace(parts.hostname or "", "localhost")).geturl()


def test_gitlab_tests_use_the_readmes_broker_and_composes_images(gitlab: BakedProject) -> None:
    readme_url = readme_broker_url(gitlab.path)
    images = compose_images(gitlab)
    for name in ("unit", "integration", "chaos"):
        job = gitlab_jobs(gitlab)[name]
        services = {service["alias"]: service["name"] for service in job.get("services", [])}
        assert set(services.values()) <= images
        urls = {
            variable: value
            for variable, value in job.get("variables", {}).items()
            if variable.endswith("_URL") or variable == "CELERY_RESULT_BACKEND"
        }
        # A service is reached by its alias; a server started in the job on localhost.
        assert {urlsplit(url).hostname for url in urls.values()} <= {"localhost", *services}
        if "CELERY_BROKER_URL" in urls:
            assert on_localhost(urls["CELERY_BROKER_URL"]) == readme_url


def test_github_checks_the_chart_with_the_helm_the_template_tests_use(
    github: BakedProject,
) -> None:
    (setup_helm,) = (
        step
        for step in github_jobs(github)["chart"]["steps"]
        if "/setup-helm@" in step.get("uses", "")
    )
    assert setup_helm["with"]["version"] == helm_python.helm_sdk_version()


def test_gitlab_checks_the_chart_with_the_helm_the_template_tests_use(
    gitlab: BakedProject,
) -> None:
    version = helm_python.helm_sdk_version().removeprefix("v")
    assert gitlab_jobs(gitlab)["chart"]["image"]["name"] == f"alpine/helm:{version}"


def test_github_workflows_are_least_privileged_and_pinned(github: BakedProject) -> None:
    for workflow in GITHUB_WORKFLOWS:
        config = load(github, workflow)
        assert config["permissions"] == {"contents": "read"}
        for job in config["jobs"].values():
            assert "permissions" not in job
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
    for relative in (*GITHUB_WORKFLOWS, GITHUB_ACTION):
        for line in (github.path / relative).read_text().splitlines():
            if "uses:" in line and "uses: ./" not in line:
                assert PINNED.search(line), f"{relative}: not pinned to a commit: {line.strip()}"
