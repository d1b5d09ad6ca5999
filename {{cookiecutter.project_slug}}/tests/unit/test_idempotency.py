"""`run_once` against the real Redis at IDEMPOTENCY_REDIS_URL: each test uses keys of its own."""

import uuid
from collections.abc import Iterator

import pytest
import redis

from {{ cookiecutter.package_name }}.idempotency import KEY_PREFIX, IdempotencyKeys
from {{ cookiecutter.package_name }}.retry import Contended
from {{ cookiecutter.package_name }}.settings import get_settings


class Effect:
    """A side effect that counts how often it ran."""

    def __init__(self, result: object = "charged", error: Exception | None = None) -> None:
        self.result = result
        self.error = error
        self.runs = 0

    def __call__(self) -> object:
        self.runs += 1
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def keys() -> Iterator[IdempotencyKeys]:
    client = redis.Redis.from_url(
        get_settings().idempotency_redis_url.get_secret_value(), decode_responses=True
    )
    yield IdempotencyKeys(client, hold_for=30, keep_for=600)
    client.close()


@pytest.fixture
def key(keys: IdempotencyKeys) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex}"
    yield name
    keys.client.delete(KEY_PREFIX + name)


def test_the_effect_runs_once_and_later_attempts_get_its_result(
    keys: IdempotencyKeys, key: str
) -> None:
    effect = Effect(result={"charge": "ch_1", "amount": 42})
    first = keys.run_once(key, effect)
    again = keys.run_once(key, effect)
    assert effect.runs == 1
    assert first == again == {"charge": "ch_1", "amount": 42}
    assert 0 < keys.client.ttl(KEY_PREFIX + key) <= 600


def test_a_failed_effect_releases_its_key_for_the_retry(keys: IdempotencyKeys, key: str) -> None:
    failing = Effect(error=ConnectionError("reset"))
    with pytest.raises(ConnectionError):
        keys.run_once(key, failing)
    retried = Effect()
    assert keys.run_once(key, retried) == "charged"
    assert (failing.runs, retried.runs) == (1, 1)


def test_a_key_held_elsewhere_is_contended_with_the_time_it_can_still_be_held(
    keys: IdempotencyKeys, key: str
) -> None:
    keys.client.set(KEY_PREFIX + key, "running:another-attempt", ex=30)
    effect = Effect()
    with pytest.raises(Contended) as contended:
        keys.run_once(key, effect)
    assert effect.runs == 0
    assert contended.value.retry_after is not None
    assert 25 <= contended.value.retry_after <= 30


def test_an_attempt_that_lost_its_key_does_not_overwrite_the_new_holder(
    keys: IdempotencyKeys, key: str
) -> None:
    def outlives_its_key() -> str:
        keys.client.set(KEY_PREFIX + key, "running:the-next-attempt", ex=30)
        return "late"

    assert keys.run_once(key, outlives_its_key) == "late"
    assert keys.client.get(KEY_PREFIX + key) == "running:the-next-attempt"


def test_an_unreachable_store_is_a_retryable_connection_error(key: str) -> None:
    unreachable = redis.Redis(port=1, socket_connect_timeout=1, decode_responses=True)
    effect = Effect()
    with pytest.raises(ConnectionError, match="idempotency store"):
        IdempotencyKeys(unreachable, hold_for=30, keep_for=600).run_once(key, effect)
    assert effect.runs == 0
