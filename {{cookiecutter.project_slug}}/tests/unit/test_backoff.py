"""Backoff waits stay within [0, min(cap, base * 2**n)] and spread across that range."""

import random

import pytest
from celery.utils.time import get_exponential_backoff_interval

from {{ cookiecutter.package_name }}.retry import TRANSIENT, RateLimited, RetryPolicy

SAMPLES = 2000


@pytest.mark.parametrize("retries", range(TRANSIENT.max_retries))
def test_sampled_waits_fill_the_full_jitter_range(retries: int) -> None:
    random.seed(retries)
    ceiling = min(TRANSIENT.backoff_cap, TRANSIENT.backoff_base * 2**retries)
    assert TRANSIENT.delay_range(retries) == (0, ceiling)
    waits = [
        get_exponential_backoff_interval(
            factor=TRANSIENT.backoff_base,
            retries=retries,
            maximum=TRANSIENT.backoff_cap,
            full_jitter=TRANSIENT.jitter,
        )
        for _ in range(SAMPLES)
    ]
    assert all(0 <= wait <= ceiling for wait in waits)
    assert min(waits) <= ceiling * 0.1
    assert max(waits) >= ceiling * 0.9
    assert ceiling * 0.4 <= sum(waits) / SAMPLES <= ceiling * 0.6


def test_the_cap_bounds_every_wait() -> None:
    policy = RetryPolicy(
        name="capped", retry_on=(ConnectionError,), max_retries=20, backoff_base=2, backoff_cap=30
    )
    assert [policy.delay_range(n)[1] for n in (0, 3, 4, 19)] == [2, 16, 30, 30]


def test_server_directed_delay_is_honoured_within_its_cap() -> None:
    policy = RetryPolicy(name="limited", retry_on=(RateLimited,), max_retries=3, retry_after_cap=60)
    assert policy.server_directed_delay(RateLimited("429", retry_after=3)) == 3
    assert policy.server_directed_delay(RateLimited("429", retry_after=3600)) == 60
    assert policy.server_directed_delay(RateLimited("429")) is None
    assert policy.server_directed_delay(ConnectionError()) is None


def test_worst_case_counts_every_run_and_every_longest_wait() -> None:
    policy = RetryPolicy(
        name="small", retry_on=(ConnectionError,), max_retries=3, backoff_base=2, backoff_cap=5
    )
    assert policy.worst_case_seconds(time_limit=10) == (2 + 4 + 5) + 4 * 10
