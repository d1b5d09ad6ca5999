"""The one way this service connects to Redis for its own data (dead letters, idempotency keys)."""

import redis
from pydantic import SecretStr

# Calls fail this fast when Redis is unreachable, so a worker never hangs on its own bookkeeping.
TIMEOUT_SECONDS = 5


def redis_client(url: SecretStr) -> redis.Redis:
    """A client for `url` that decodes responses to `str`."""
    return redis.Redis.from_url(
        url.get_secret_value(),
        decode_responses=True,
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
    )
