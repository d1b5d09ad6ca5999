"""Baked projects, each with its own virtual environment, and ways to run commands in them."""

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_cookies.plugin import Cookies

COMMAND_TIMEOUT = 600
# A project's opt-in suites: the Redis chaos suite alone takes about 7 minutes on 2 cores, with
# its recovery tests at the default time settings; a failing wait in it may add 4 more.
SUITE_TIMEOUT = 1200
TEARDOWN_TIMEOUT = 60


def kill_processes_running_from(venv: Path) -> None:
    """SIGKILL every process whose command line names `venv` (workers started by a project's
    tests run its interpreter)."""
    marker = str(venv).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError):  # it exited meanwhile
            continue


def find_python(version: str) -> Path:
    """An interpreter for `version`: on PATH, or installed by pyenv (whose shims can't pick one)."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(
        str(path) for path in pyenv_root.glob(f"versions/{version}.*/bin/python{version}")
    )
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return Path(candidate)
    pytest.fail(f"no Python {version} interpreter found (looked on PATH and in {pyenv_root})")


@dataclass(frozen=True)
class BakedProject:
    """A project generated for one option combination."""

    path: Path
    combination: dict[str, str]


@dataclass(frozen=True)
class GeneratedProject(BakedProject):
    """A baked project with its own virtual environment."""

    venv: Path

    def run(
        self, *command: str, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run `command` in the project directory with its virtual environment first on PATH.

        A command still running after `timeout` seconds is interrupted as Ctrl-C would (so a test
        suite tears its fixtures down), then killed, with every process still running from the
        project's environment: workers a suite started must not outlive it and take the next
        project's tasks."""
        path = f"{self.venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
        with subprocess.Popen(
            command,
            cwd=self.path,
            env={**os.environ, "PATH": path, "VIRTUAL_ENV": str(self.venv), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGINT)
                try:
                    process.communicate(timeout=TEARDOWN_TIMEOUT)
                finally:
                    process.kill()
                    kill_processes_running_from(self.venv)
                raise
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)

    def check(
        self, *command: str, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT
    ) -> str:
        """Run `command` and fail the test with its output unless it succeeds."""
        result = self.run(*command, env=env, timeout=timeout)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{output}"
        return output


def bake(cookies: Cookies, **context: str) -> Path:
    result = cookies.bake(extra_context=context)
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    assert result.project_path is not None
    return Path(result.project_path)


def create_venv(project_dir: Path, python_version: str) -> Path:
    """A virtual environment with the project installed as `pip install -e '.[dev]'` would.

    Its libraries are compiled to bytecode at install time, as pip does: uv leaves that to the
    first import, and where PYTHONDONTWRITEBYTECODE is set (as on CI machines) no import ever
    writes it, so every worker, command and test process would compile Celery, kombu, redis and
    pydantic from source again (2.4 s instead of 0.7 s to import the app, measured)."""
    venv = project_dir / ".venv"
    uv_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    for command in (
        ["uv", "venv", "--quiet", "--python", str(find_python(python_version)), str(venv)],
        [
            "uv",
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--python",
            str(venv / "bin" / "python"),
            "-e",
            ".[dev]",
        ],
    ):
        subprocess.run(command, cwd=project_dir, env=uv_env, check=True, timeout=COMMAND_TIMEOUT)
    return venv
