"""The generated Dockerfile builds, and its image runs the way the Helm chart runs it.

One combination per broker (Python 3.13, Redis results) is built with a real Docker engine
(`docker_engine.py`) and run as the chart's pods run: user 10001, a read-only root file system,
`/tmp` a tmpfs, no capabilities, no privilege escalation, settings as environment variables.
Only the network differs: the host's, so the
containers reach the machine's brokers on 127.0.0.1. The health check is polled every second here
instead of the Dockerfile's 30 s, and CELERY_TASK_TIME_LIMIT is 10 s so that the shutdown grace
derived from it is 40 s.
"""

import http.server
import json
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .brokers import broker_environment
from .conftest import InstalledProjects
from .deployment import package_name, shutdown_grace
from .docker_engine import (
    DOCKER_ENV,
    build_image,
    docker,
    docker_engine,
    docker_output,
    ensure_base_image,
)
from .options import COMBINATIONS, combination_id

PYTHON_VERSION = "3.13"
# The first combination of each broker in the bake matrix with Python 3.13, Redis results and the
# example tasks, which the stop test runs (reversed, so that the first one is the one that stays).
IMAGE_COMBINATIONS = {
    combination["broker"]: combination
    for combination in reversed(COMBINATIONS)
    if combination["python_version"] == PYTHON_VERSION
    and combination["result_backend"] == "redis"
    and combination["examples"] == "yes"
}
TASK_TIME_LIMIT = 10
LIKE_THE_CHART = (
    "--user", "10001:10001", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges", "--network", "host",
)  # fmt: skip
FAST_HEALTHCHECK = ("--health-interval", "1s", "--health-start-period", "60s")
STARTUP_WITHIN = 60
# What the image must not hold, looked for from inside it by the environment's Python.
INSPECT_IMAGE = """
import importlib.util, json, os, shutil, sys
test_files = set(sys.argv[1:])
found = {"compilers": [c for c in ("gcc", "cc", "c++", "g++") if shutil.which(c)],
         "pip_in_venv": importlib.util.find_spec("pip") is not None
             or any(name.startswith("pip") for name in os.listdir("/opt/venv/bin")),
         "dotenv_files": [], "test_files": []}
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
    for name in files:
        path = os.path.join(root, name)
        if name == ".env":
            found["dotenv_files"].append(path)
        if any(path.endswith("/" + test) for test in test_files):
            found["test_files"].append(path)
print(json.dumps(found))
"""


@dataclass(frozen=True)
class Image:
    """A built image of one baked project."""

    tag: str
    project: Path
    combination: dict[str, str]
    build_seconds: float
    build_output: str

    @property
    def package(self) -> str:
        return package_name(self.project)

    def chart_command(self, worker: str) -> list[str]:
        """A worker's command as the chart's values.yaml gives it (`worker`, `dlqWorker`)."""
        values = yaml.safe_load((self.project / "chart" / "values.yaml").read_text())
        command: list[str] = values[worker]["command"]
        return command


def wait_for(condition: Callable[[], bool], within: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` once `within` seconds have passed."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f} s")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with docker_engine(tmp_path_factory.mktemp("docker") / "dockerd.log"):
        yield


@pytest.fixture(scope="session", params=sorted(IMAGE_COMBINATIONS))
def image(
    request: pytest.FixtureRequest,
    engine: None,
    installed_projects: InstalledProjects,
    tmp_path_factory: pytest.TempPathFactory,
) -> Image:
    """The image of the broker's combination, built (on a base image made when missing)."""
    combination = IMAGE_COMBINATIONS[request.param]
    ensure_base_image(PYTHON_VERSION, tmp_path_factory.mktemp("base-image"))
    project = installed_projects.bake(combination).path
    tag = f"{project.name}:template-test-{request.param}"
    started = time.monotonic()
    output = build_image(project, tag)
    return Image(tag, project, combination, time.monotonic() - started, output)


@pytest.fixture(scope="session")
def settings(image: Image) -> Iterator[dict[str, str]]:
    """The image's settings, pointing at a fresh place on the machine's brokers."""
    run_name = f"image-{combination_id(image.combination)}"
    with broker_environment(image.combination, run_name) as environment:
        yield {
            **environment,
            "CELERY_TASK_TIME_LIMIT": str(TASK_TIME_LIMIT),
            # Another process on the host network may hold the default metrics port.
            "METRICS_PORT": "0",
        }


@contextmanager
def container(
    image: Image, settings: dict[str, str], command: list[str], **extra: str
) -> Iterator[str]:
    """A container of `image` running `command` as the chart's pods do; removed afterwards."""
    name = f"template-test-{secrets.token_hex(4)}"
    variables = [
        argument for item in {**settings, **extra}.items() for argument in ("-e", "=".join(item))
    ]
    docker_output(
        "run", "--detach", "--name", name, *LIKE_THE_CHART, *FAST_HEALTHCHECK,
        *variables, image.tag, *command,
    )  # fmt: skip
    try:
        yield name
    finally:
        docker("rm", "--force", name)


def probe(name: str, image: Image, kind: str) -> bool:
    """Whether the chart's `kind` probe (liveness or readiness) passes in container `name`."""
    return docker("exec", name, "python", "-m", f"{image.package}.health", kind).returncode == 0


def health_status(name: str) -> str:
    """What Docker's HEALTHCHECK reports for container `name`: starting, healthy or unhealthy."""
    return docker_output("inspect", "--format", "{{.State.Health.Status}}", name).strip()


def logs(name: str) -> str:
    result = docker("logs", name)
    return result.stdout + result.stderr


def python_in(name: str, code: str) -> str:
    """Run `code` with the image's Python inside container `name`; its output."""
    return docker_output("exec", name, "python", "-c", code).strip()


def test_image_holds_the_service_alone(image: Image, capsys: pytest.CaptureFixture[str]) -> None:
    size = int(docker_output("image", "inspect", "--format", "{{.Size}}", image.tag))
    last_lines = image.build_output.strip().splitlines()[-2:]
    with capsys.disabled():
        print(f"\nimage {image.tag}: {size / 1e6:.0f} MB, built in {image.build_seconds:.0f} s:")
        print("  " + "\n  ".join(last_lines))
    test_files = [
        str(path.relative_to(image.project)) for path in (image.project / "tests").rglob("test_*")
    ]
    inspect = ("run", "--rm", "--network", "host", "--entrypoint", "python", image.tag, "-c")
    found = json.loads(docker_output(*inspect, INSPECT_IMAGE, *test_files))
    assert found == {
        "compilers": [],
        "pip_in_venv": False,
        "dotenv_files": [],
        "test_files": [],
    }


def test_worker_runs_a_task_and_reports_healthy(
    image: Image, settings: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with container(image, settings, image.chart_command("worker")) as name:
        wait_for(lambda: probe(name, image, "readiness"), STARTUP_WITHIN, "readiness")
        ping = f"from {image.package}.tasks.diagnostics import ping; print(ping.delay().get(30))"
        assert python_in(name, ping) == "pong"
        assert probe(name, image, "liveness")
        wait_for(lambda: health_status(name) == "healthy", STARTUP_WITHIN, "HEALTHCHECK healthy")
        with capsys.disabled():
            print(f"\n{image.tag}: HEALTHCHECK {health_status(name)}")


def test_dead_letter_worker_runs_in_the_same_image(image: Image, settings: dict[str, str]) -> None:
    command = image.chart_command("dlqWorker")
    with container(image, settings, command) as name:
        wait_for(lambda: probe(name, image, "readiness"), STARTUP_WITHIN, "readiness")
        queues = python_in(
            name,
            f"import json; from {image.package} import app; "
            "replies = app.control.inspect(timeout=5).active_queues(); "
            "print(json.dumps(sorted(q['name'] for qs in replies.values() for q in qs)))",
        )
        assert json.loads(queues) == ["dead_letter"]


class HeldRequests(http.server.ThreadingHTTPServer):
    """An HTTP service on 127.0.0.1 that answers 200 to every request once `release` is set."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HeldHandler)
        self.arrived = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class HeldHandler(http.server.BaseHTTPRequestHandler):
    server: HeldRequests

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.arrived.set()
        self.server.release.wait(timeout=60)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test checks the worker's log, not this one."""


@contextmanager
def held_requests() -> Iterator[HeldRequests]:
    server = HeldRequests()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def test_docker_stop_lets_the_running_task_finish(image: Image, settings: dict[str, str]) -> None:
    grace = shutdown_grace(image.project, TASK_TIME_LIMIT)
    with (
        held_requests() as crm,
        container(image, settings, image.chart_command("worker"), CRM_API_URL=crm.url) as name,
    ):
        wait_for(lambda: probe(name, image, "readiness"), STARTUP_WITHIN, "readiness")
        task_id = python_in(
            name,
            f"from {image.package}.tasks.examples import sync_to_crm; "
            "print(sync_to_crm.delay(7).id)",
        )
        assert crm.arrived.wait(timeout=30), "the task never called the CRM"
        stopping = subprocess.Popen(
            ["docker", "stop", "-t", str(grace), name], env=DOCKER_ENV, stdout=subprocess.DEVNULL
        )
        started = time.monotonic()
        try:
            # Readiness fails once the worker has SIGTERM: the task is still held at the CRM.
            wait_for(lambda: not probe(name, image, "readiness"), 30, "shutdown to begin")
            crm.release.set()
            stopping.wait(timeout=grace + 10)
        finally:
            stopping.kill()
        elapsed = time.monotonic() - started
        state = json.loads(docker_output("inspect", "--format", "{{json .State}}", name))
        assert (state["Running"], state["ExitCode"], state["OOMKilled"]) == (False, 0, False)
        assert elapsed < grace, f"stopped after {elapsed:.0f} s, the grace is {grace} s"
        assert f"sync_to_crm[{task_id}] succeeded" in logs(name)
