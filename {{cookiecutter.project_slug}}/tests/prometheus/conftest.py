"""The real-Prometheus tests: Debian's `prometheus` scrapes real workers while a scenario runs.

They are integration tests that run only when asked for, with `pytest -m prometheus`, because
they start a Prometheus server and two workers of their own (about a minute).
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..integration.workers import wait_for

PROMETHEUS = "/usr/bin/prometheus"
PROMETHEUS_PORT = 19220
INSTALL = "apt-get install prometheus (Debian's package brings the server and promtool)"


class Prometheus:
    """A Prometheus server of the test's own: its port, config and data directory."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, config: str) -> None:
        executable = shutil.which("prometheus") or PROMETHEUS
        if not os.access(executable, os.X_OK):
            pytest.fail(f"no prometheus server on this machine: {INSTALL}", pytrace=False)
        (self.directory / "prometheus.yml").write_text(config)
        log = (self.directory / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                executable,
                f"--config.file={self.directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.is_ready, 30, "prometheus ready")

    def is_ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"prometheus exited:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return (self.directory / "prometheus.log").read_text(errors="replace")

    def api(self, path: str, **params: str) -> object:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()["data"]

    def query(self, expression: str) -> dict[str, float]:
        """An instant vector, as {label values joined by ",": value}."""
        data = self.api("query", query=expression)
        assert isinstance(data, dict)
        return {
            ",".join(str(v) for _, v in sorted(sample["metric"].items())): float(sample["value"][1])
            for sample in data["result"]
        }

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path / "prometheus", PROMETHEUS_PORT)
    server.directory.mkdir()
    yield server
    server.stop()
