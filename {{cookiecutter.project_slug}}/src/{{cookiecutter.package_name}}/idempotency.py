"""Side effects that happen once per business key, even when their task runs twice.

Delivery is at-least-once: a task runs again after its worker dies, and a message published twice
runs twice. Wrap the side effect in `run_once`, keyed on what the business counts once (a payment
id, a webhook delivery):

    return idempotency_keys().run_once(f"charge:{payment_id}", lambda: charge(payment_id))

- The first attempt takes the key in Redis (`SET NX`) for as long as an attempt can last, runs the
  effect and keeps its result under the key for `IDEMPOTENCY_KEY_TTL`. Later attempts return that
  result and don't run the effect.
- An effect that raises releases the key, so a retry can run it.
- While another attempt holds the key, `Contended` is raised with the time the key can still be
  held; the retry tiers wait that long and try again. A worker killed mid-effect leaves its key to
  expire, so its task is retried once the key is free, never blocked for good.
- Redis being unreachable raises the built-in `ConnectionError` or `TimeoutError`, which the
  retry tiers retry.

One window remains: a worker killed after the effect but before the result is stored lets the
effect run again once the key expires. Pass the key on to the downstream system too
(`Idempotency-Key`) where it accepts one; that closes the window.
"""

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TypeVar, cast

import redis

from .redis_client import redis_client
from .retry import Contended
from .settings import get_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

KEY_PREFIX = "idempotency:"
RUNNING = "running:"
DONE = "done:"
# A bounded number of tries to take a key that expires or is released while being read.
ATTEMPTS = 3

# Store the result, or release the key, only if this attempt still holds it.
FINISH_IF_HELD = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return false
"""
RELEASE_IF_HELD = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class IdempotencyKeys:
    """Idempotency keys in one Redis database.

    Args:
        client: The Redis client; it must decode responses (`decode_responses=True`).
        hold_for: Seconds an attempt holds a key while its effect runs; longer than any attempt
            can last, so a running effect never loses its key.
        keep_for: Seconds a finished effect's result is kept, and so how long a late duplicate is
            still recognised.
    """

    client: redis.Redis
    hold_for: int
    keep_for: int

    def run_once(self, key: str, effect: Callable[[], T]) -> T:
        """`effect()`'s result, running it only if no attempt has finished it under `key`.

        The result must be JSON (as a task's result is): later attempts get it decoded.
        """
        name = KEY_PREFIX + key
        token = RUNNING + uuid.uuid4().hex
        for _ in range(ATTEMPTS):
            with transient_store_errors():
                taken = self.client.set(name, token, nx=True, ex=self.hold_for)
                held = None if taken else self._held(name)
            if taken:
                return self._run(key, token, effect)
            if held is not None and held.startswith(DONE):
                logger.info("already done: not run again", extra={"idempotency_key": key})
                return cast(T, json.loads(held.removeprefix(DONE)))
            if held is not None:
                raise Contended(f"{key} is being worked on elsewhere", self._remaining(name))
        raise Contended(f"{key} kept changing hands", retry_after=1)

    def _run(self, key: str, token: str, effect: Callable[[], T]) -> T:
        name = KEY_PREFIX + key
        try:
            result = effect()
        except BaseException:
            self._release(key, token)
            raise
        with transient_store_errors():
            stored = self.client.eval(
                FINISH_IF_HELD, 1, name, token, DONE + json.dumps(result), self.keep_for
            )
        if not stored:
            logger.warning(
                "the key expired while the effect ran, so another attempt may have run it too: "
                "does the task have a time limit above CELERY_TASK_TIME_LIMIT?",
                extra={"idempotency_key": key},
            )
        return result

    def _release(self, key: str, token: str) -> None:
        """Free `key` for a retry; if Redis can't be reached, the key expires instead."""
        try:
            self.client.eval(RELEASE_IF_HELD, 1, KEY_PREFIX + key, token)
        except redis.RedisError as error:
            logger.warning(
                "could not release the key; it expires in at most %d s (%s)",
                self.hold_for,
                error,
                extra={"idempotency_key": key},
            )

    def _held(self, name: str) -> str | None:
        return cast(str | None, self.client.get(name))  # the client decodes responses

    def _remaining(self, name: str) -> float:
        with transient_store_errors():
            seconds = self.client.ttl(name)
        return float(seconds) if seconds > 0 else 1.0


@contextmanager
def transient_store_errors() -> Iterator[None]:
    """Redis being unreachable becomes the built-in error the retry tiers retry."""
    try:
        yield
    except redis.TimeoutError as error:
        raise TimeoutError(f"idempotency store: {error}") from error
    except redis.ConnectionError as error:
        raise ConnectionError(f"idempotency store: {error}") from error


@cache
def idempotency_keys() -> IdempotencyKeys:
    """The keys at `IDEMPOTENCY_REDIS_URL`, held as long as a task may run, plus a margin; one
    client per process."""
    settings = get_settings()
    return IdempotencyKeys(
        redis_client(settings.idempotency_redis_url),
        hold_for=settings.idempotency_hold_for,
        keep_for=settings.idempotency_key_ttl,
    )
