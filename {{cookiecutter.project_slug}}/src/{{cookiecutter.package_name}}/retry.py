"""Retry policies: one declarative object per tier of failure, applied as Celery's own options.

A task opts into a tier with `@app.task(**TRANSIENT.task_options())`. Celery then retries the
tier's exceptions with capped exponential backoff and full jitter, and its introspection
(`task.max_retries`, `task.retry_backoff`, `task.autoretry_for`, ...) reports the tier's numbers.
"""

from dataclasses import dataclass, field
from typing import Any

from .settings import Settings, get_settings


class Contended(Exception):  # noqa: N818 - reads as a state, like TimeoutError
    """A resource another worker holds (a lock, a row); trying again later can succeed.

    `retry_after` is how long the holder can keep it, when known: a policy that retries this
    error waits that long (at most its backoff cap) instead of guessing with backoff.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Exception):  # noqa: N818
    """The server refused for now and may say how long to wait (`Retry-After`, in seconds)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How one tier of failures is retried.

    Args:
        name: The tier's name, shown by `policies show`.
        retry_on: Exception classes worth retrying (Celery's `autoretry_for`). Subclasses match
            too, so list narrow classes: never `Exception`.
        never_retry: Exception classes never retried even when they subclass one of `retry_on`
            (Celery's `dont_autoretry_for`).
        max_retries: Retries after the first run; the task runs at most `max_retries + 1`
            times, then is dead-lettered. Always finite.
        backoff_base: Seconds before the first retry; each retry doubles it (`retry_backoff`).
        backoff_cap: No retry waits longer than this many seconds (`retry_backoff_max`).
        jitter: Wait a uniformly random time up to the computed delay ("full jitter"), so tasks
            that failed together don't retry together (`retry_jitter`).
        retry_after_cap: When set, a `RateLimited` error's server-directed delay replaces the
            backoff, capped at this many seconds. Without a `Retry-After`, backoff applies.
    """

    name: str
    retry_on: tuple[type[BaseException], ...]
    max_retries: int
    backoff_base: int = 1
    backoff_cap: int = 600
    jitter: bool = True
    never_retry: tuple[type[BaseException], ...] = ()
    retry_after_cap: int | None = None
    description: str = field(default="", compare=False)

    def task_options(self) -> dict[str, Any]:
        """Keyword arguments for `@app.task` that apply this policy."""
        return {
            "autoretry_for": self.retry_on,
            "dont_autoretry_for": self.never_retry,
            "max_retries": self.max_retries,
            "retry_backoff": self.backoff_base,
            "retry_backoff_max": self.backoff_cap,
            "retry_jitter": self.jitter,
            "retry_policy": self,
        }

    def backoff_ceiling(self, retries: int) -> int:
        """The longest backoff before retry number `retries + 1` (Celery's formula, no jitter)."""
        return int(min(self.backoff_cap, self.backoff_base * 2**retries))

    def delay_range(self, retries: int) -> tuple[int, int]:
        """Shortest and longest wait before retry number `retries + 1`."""
        longest = max(self.backoff_ceiling(retries), self.retry_after_cap or 0)
        shortest = 0 if self.jitter else self.backoff_ceiling(retries)
        return shortest, longest

    def server_directed_delay(self, error: BaseException | None) -> int | None:
        """The wait `error` asks for, capped, when this policy honours it: a `RateLimited`'s
        `Retry-After` (up to `retry_after_cap`), a `Contended` lock's remaining time (up to
        `backoff_cap`). None means: back off as usual."""
        if error is None or not isinstance(error, self.retry_on):
            return None
        if isinstance(error, RateLimited):
            wait, cap = error.retry_after, self.retry_after_cap
        elif isinstance(error, Contended):
            wait, cap = error.retry_after, self.backoff_cap
        else:
            return None
        if wait is None or cap is None:
            return None
        return int(min(max(wait, 0), cap))

    def longest_wait(self) -> int:
        """The longest any retry of this policy can wait, in seconds."""
        waits = [self.delay_range(retries)[1] for retries in range(max(self.max_retries, 1))]
        if Contended in self.retry_on:
            waits.append(self.backoff_cap)
        return max(waits)

    def worst_case_seconds(self, time_limit: int) -> int:
        """Longest time from the first run to dead-lettering: every run times out, every wait is
        the longest possible."""
        waits = sum(self.delay_range(retries)[1] for retries in range(self.max_retries))
        return waits + (self.max_retries + 1) * time_limit


def transient(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        name="transient",
        retry_on=(ConnectionError, TimeoutError, Contended),
        max_retries=settings.retry_transient_max_retries,
        backoff_base=settings.retry_transient_backoff_base,
        backoff_cap=settings.retry_transient_backoff_cap,
        description="network errors, timeouts, lock contention",
    )


def rate_limited(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        name="rate_limited",
        retry_on=(RateLimited, ConnectionError, TimeoutError, Contended),
        max_retries=settings.retry_rate_limited_max_retries,
        backoff_base=settings.retry_transient_backoff_base,
        backoff_cap=settings.retry_transient_backoff_cap,
        retry_after_cap=settings.retry_rate_limited_retry_after_cap,
        description="server-directed waits (Retry-After), network errors, lock contention",
    )


NON_RETRYABLE = RetryPolicy(
    name="non_retryable",
    retry_on=(),
    max_retries=0,
    description="never retried: dead-lettered at once",
)
TRANSIENT = transient(get_settings())
RATE_LIMITED = rate_limited(get_settings())
