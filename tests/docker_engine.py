"""A Docker engine for the image test, of the tests' own: started when it doesn't answer, and
stopped by its pid at the end of the run.

All traffic stays on 127.0.0.1: the daemon has no bridge network and leaves iptables alone
(`--bridge=none --iptables=false`), and every build and container uses `--network host`. It has
its own socket, data root and containerd, so it never sees (or cleans up) a Docker engine the
machine may run for other things, and what it keeps (the base image, the build cache) is there for
the next run: `DOCKER_HOST=unix:///run/template-tests/docker.sock docker images` shows it.

No registry of images is reachable from these machines, so the `python:<version>-slim` base the
Dockerfile names is made offline: a minimal Debian with that Python (debootstrap), `python` and
`pip` in /usr/local/bin as in the official image, imported under the official name. It trusts
this machine's CA bundle, because the package registries are reached through a TLS-intercepting
proxy; the project's Dockerfile knows nothing of that. Made once; later runs find it.

Without an engine, the image test fails with a message saying how to get one. Outside CI,
IMAGE_TEST_MAY_SKIP=1 turns that into a skip.
"""

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

START_TIMEOUT = 60
STOP_TIMEOUT = 30
BUILD_TIMEOUT = 900
COMMAND_TIMEOUT = 120
# The Debian release whose python3 is each Python version.
DEBIAN_RELEASES = {"3.11": "bookworm", "3.13": "trixie"}
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BASE_IMAGE_SETTINGS = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)
RUN_DIRECTORY = Path("/run/template-tests")
SOCKET = RUN_DIRECTORY / "docker.sock"
DAEMON = (
    "dockerd", "--bridge=none", "--iptables=false", f"--host=unix://{SOCKET}",
    f"--pidfile={RUN_DIRECTORY / 'docker.pid'}", f"--exec-root={RUN_DIRECTORY / 'docker'}",
    "--data-root=/var/lib/template-tests/docker", "--containerd-namespace=template-tests",
    "--containerd-plugins-namespace=template-tests-plugins",
)  # fmt: skip
# BuildKit would fetch the Dockerfile's `# syntax=` frontend from a registry; the classic builder
# reads the file itself.
DOCKER_ENV = {**os.environ, "DOCKER_HOST": f"unix://{SOCKET}", "DOCKER_BUILDKIT": "0"}


def unavailable(reason: str) -> NoReturn:
    """Fail the test, or skip it where that was asked for outside CI."""
    if os.environ.get("IMAGE_TEST_MAY_SKIP") == "1" and os.environ.get("CI") != "true":
        pytest.skip(reason)
    pytest.fail(reason, pytrace=False)


def docker(*arguments: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI; the caller looks at the exit status."""
    return subprocess.run(
        ["docker", *arguments],
        env=DOCKER_ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def docker_output(*arguments: str, timeout: float = COMMAND_TIMEOUT) -> str:
    """Run the docker CLI and return its output; fail the test with it unless it succeeds."""
    result = docker(*arguments, timeout=timeout)
    assert result.returncode == 0, f"docker {' '.join(arguments)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def engine_answers() -> bool:
    return docker("version", "--format", "{{.Server.Version}}", timeout=10).returncode == 0


def tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def docker_engine(log: Path) -> Iterator[None]:
    """The tests' Docker engine, answering: already running, or started now (its output in
    `log`) and stopped by its pid afterwards."""
    for tool in ("docker", "dockerd"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed: sudo apt-get install docker.io")
    if engine_answers():
        yield
        return
    RUN_DIRECTORY.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        daemon = subprocess.Popen(
            DAEMON,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not engine_answers():
            if daemon.poll() is not None or time.monotonic() > deadline:
                unavailable(f"dockerd did not start (as root?); its last lines:\n{tail(log)}")
            time.sleep(0.5)
        yield
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def ensure_base_image(python_version: str, workdir: Path) -> str:
    """The image `python:<python_version>-slim`, made from Debian packages unless it exists."""
    image = f"python:{python_version}-slim"
    if docker("image", "inspect", image).returncode == 0:
        return image
    release = DEBIAN_RELEASES.get(python_version)
    if release is None:
        unavailable(f"no Debian release ships Python {python_version} to build {image} from")
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        unavailable(f"making {image} needs root and debootstrap: sudo apt-get install debootstrap")
    rootfs = workdir / f"rootfs-{python_version}"
    packages = f"python{python_version},python{python_version}-venv,python3-pip,ca-certificates"
    bootstrap = subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={packages}",
            release,
            str(rootfs),
            DEBIAN_MIRROR,
        ],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    try:
        assert bootstrap.returncode == 0, (
            f"debootstrap {release} failed:\n{bootstrap.stdout[-3000:]}"
        )
        slim_down(rootfs)
        link_like_the_official_image(rootfs, python_version)
        shutil.copyfile(HOST_CA_BUNDLE, rootfs / HOST_CA_BUNDLE.relative_to("/"))
        import_image(rootfs, image)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    return image


def slim_down(rootfs: Path) -> None:
    """Drop the downloaded packages and package lists, as the official image does."""
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / cache).glob("*"):
            if path.is_file():
                path.unlink()


def link_like_the_official_image(rootfs: Path, python_version: str) -> None:
    local_bin = rootfs / "usr/local/bin"
    for name, target in {
        "python": f"/usr/bin/python{python_version}",
        "python3": f"/usr/bin/python{python_version}",
        "pip": "/usr/bin/pip3",
        "pip3": "/usr/bin/pip3",
    }.items():
        (local_bin / name).unlink(missing_ok=True)
        (local_bin / name).symlink_to(target)


def import_image(rootfs: Path, image: str) -> None:
    changes = [argument for setting in BASE_IMAGE_SETTINGS for argument in ("--change", setting)]
    with subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE) as tar:
        imported = subprocess.run(
            ["docker", "import", *changes, "-", image],
            env=DOCKER_ENV,
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    assert tar.returncode == 0, f"tar of {rootfs} failed"
    assert imported.returncode == 0, f"docker import {image} failed:\n{imported.stderr}"


def build_image(context: Path, tag: str) -> str:
    """Build the Dockerfile in `context` as `tag`; return the build's output. Images no longer
    tagged (an earlier build's) are removed; the layers still in use stay as the build cache."""
    build = ("build", "--network", "host", "--tag", tag, str(context))
    output = docker_output(*build, timeout=BUILD_TIMEOUT)
    docker_output("image", "prune", "--force")
    return output
