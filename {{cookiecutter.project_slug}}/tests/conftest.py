"""Fixtures the integration and chaos tests share."""

import pytest

from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore, connected_store


@pytest.fixture(scope="session")
def store() -> RedisDeadLetterStore:
    """The dead-letter store the workers write to (DEAD_LETTER_REDIS_URL)."""
    return connected_store()
