"""The browser tests: headless Chromium drives the dead-letter console while real workers run.

They are integration tests that run only when asked for, with `pytest -m browser`: they start a
main worker, the dead-letter worker, the console, and Debian's `chromium` (driven by Playwright,
whose own browser download is not needed).
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, sync_playwright

from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.settings import get_settings
from {{ cookiecutter.package_name }}.topology import DEAD_LETTER_QUEUE

from ..console_client import OPERATOR_TOKEN, VIEWER_TOKEN
from ..integration import faulty_tasks
from ..integration.clean_slate import empty_queues_and_store
from ..integration.workers import WorkerProcess, running, spawn_worker, wait_for

CONSOLE_PORT = 19310
INSTALL_CHROMIUM = "apt-get install chromium (Debian's package; Playwright drives it)"
# The workers seal original arguments with this key; the console unseals them to replay.
os.environ.setdefault("DEAD_LETTER_ENCRYPTION_KEYS", Fernet.generate_key().decode())
get_settings.cache_clear()


@pytest.fixture(scope="module")
def empty_broker_and_store(store: RedisDeadLetterStore) -> None:
    """No work waiting and no dead letters, so the groups on the page are the scenario's."""
    empty_queues_and_store(store)


@pytest.fixture(scope="module")
def workers(
    empty_broker_and_store: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A main worker and the dead-letter worker; yields the main one."""
    logs = tmp_path_factory.mktemp("browser-workers")
    tasks = f"--include={faulty_tasks.MODULE}"
    main = spawn_worker(logs, tasks)
    dead_letters = spawn_worker(logs, f"--queues={DEAD_LETTER_QUEUE}", tasks)
    with running(main), running(dead_letters):
        yield main


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The console, started as users start it, with both tokens set."""
    url = f"http://127.0.0.1:{CONSOLE_PORT}"
    log_path = tmp_path_factory.mktemp("browser-console") / "console.log"
    tokens = {"CONSOLE_VIEWER_TOKEN": VIEWER_TOKEN, "CONSOLE_OPERATOR_TOKEN": OPERATOR_TOKEN}
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "console", "--port", str(CONSOLE_PORT)]
    with log_path.open("wb") as log:
        console = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **tokens}
        )

    def answers() -> bool:
        if console.poll() is not None:
            raise AssertionError(f"the console exited:\n{log_path.read_text()}")
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, 30, "the console ready")
        yield url
    finally:
        console.terminate()
        console.wait(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail(f"no chromium on this machine: {INSTALL_CHROMIUM}", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()
