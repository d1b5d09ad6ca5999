"""HTTP calls for the example tasks, turning HTTP failures into the exceptions the tiers retry.

Network errors become `ConnectionError`, timeouts `TimeoutError`, a 429 `RateLimited` (with its
`Retry-After`), and 502/503/504 `ConnectionError`. Any other error status raises
`httpx.HTTPStatusError`, which no tier retries.
"""

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

import httpx

from .retry import RateLimited
from .settings import get_settings

UNAVAILABLE = frozenset({502, 503, 504})
IDEMPOTENCY_HEADER = "Idempotency-Key"
PAYMENT_REQUIRED = 402


class CardDeclined(Exception):  # noqa: N818 - the gateway's own word
    """The payment gateway refused the card: retrying can't change its answer."""


def retry_after_seconds(header: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if header is None:
        return None
    if header.strip().isdigit():
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@cache
def http_client() -> httpx.Client:
    """One client per process, so calls reuse connections; made on first use, after a pool
    process has forked."""
    return httpx.Client(timeout=get_settings().http_timeout)


def call(
    method: str, url: str, payload: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Send one request; raise the retry tiers' exceptions for transient failures."""
    try:
        response = http_client().request(method, url, json=payload, headers=headers)
    except httpx.TimeoutException as error:
        raise TimeoutError(f"{method} {url}: {error}") from error
    except httpx.NetworkError as error:
        raise ConnectionError(f"{method} {url}: {error}") from error
    if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
        raise RateLimited(
            f"{method} {url}: 429", retry_after_seconds(response.headers.get("Retry-After"))
        )
    if response.status_code in UNAVAILABLE:
        raise ConnectionError(f"{method} {url}: {response.status_code}")
    return response.raise_for_status()


def charge(payment_id: str, idempotency_key: str) -> dict[str, Any]:
    """Charge a payment through the gateway; a 402 means the card was declined. The gateway gets
    `idempotency_key` too, so even a charge repeated after a crash is applied once."""
    url = f"{get_settings().payment_gateway_url}/payments/{payment_id}/charge"
    try:
        response = call("POST", url, headers={IDEMPOTENCY_HEADER: idempotency_key})
    except httpx.HTTPStatusError as error:
        if error.response.status_code == PAYMENT_REQUIRED:
            raise CardDeclined(f"payment {payment_id}: {error.response.text}") from error
        raise
    result: dict[str, Any] = response.json()
    return result


def post_webhook(endpoint: str, payload: Any, idempotency_key: str) -> None:
    """Deliver an event; the subscriber gets `idempotency_key` to drop a repeated delivery."""
    call("POST", endpoint, payload, headers={IDEMPOTENCY_HEADER: idempotency_key})
