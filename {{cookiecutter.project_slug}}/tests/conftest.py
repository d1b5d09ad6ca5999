"""Markers by directory, and fixtures the integration and chaos tests share."""

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore, connected_store

# The markers each directory's tests get: every directory but unit/ starts real workers, and the
# opt-in suites are left out of a plain `pytest` (addopts) until asked for with `-m`.
DIRECTORY_MARKERS = {
    "integration": ("integration",),
    "chaos": ("integration", "chaos"),
    "prometheus": ("integration", "prometheus"),
    "browser": ("integration", "browser"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            directory = item.path.relative_to(here).parts[0]
            for marker in DIRECTORY_MARKERS.get(directory, ()):
                item.add_marker(marker)


@pytest.fixture(scope="session")
def store() -> RedisDeadLetterStore:
    """The dead-letter store the workers write to (DEAD_LETTER_REDIS_URL)."""
    return connected_store()
