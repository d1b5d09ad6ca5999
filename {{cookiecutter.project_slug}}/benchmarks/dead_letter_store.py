"""How the dead-letter store scales: list and stats times at 1,000 and at 10,000 records.

    python -m benchmarks.dead_letter_store [--records 10000]

Writes to a throwaway key prefix in DEAD_LETTER_REDIS_URL and deletes it afterwards. A page and
the stats should cost about the same at both sizes (O(page), not O(records)).
"""

import argparse
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import redis

from {{ cookiecutter.package_name }}.deadletter.record import REASONS, DeadLetter
from {{ cookiecutter.package_name }}.deadletter.store import Query, RedisDeadLetterStore
from {{ cookiecutter.package_name }}.settings import get_settings

REPEATS = 20
TASKS = [f"bench.tasks.task_{n}" for n in range(10)]


def record(number: int) -> DeadLetter:
    failed_at = (datetime.now(UTC) - timedelta(seconds=number)).isoformat()
    return DeadLetter(
        id=str(uuid.uuid4()),
        task=TASKS[number % len(TASKS)],
        args=[number],
        kwargs={},
        reason=REASONS[number % len(REASONS)],
        exception_type="builtins.ConnectionError",
        exception_message="refused",
        traceback="Traceback (most recent call last): ...",
        retries=8,
        queue="default",
        first_failed_at=failed_at,
        last_failed_at=failed_at,
        hostname="bench",
    )


def median_ms(operation: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        operation()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(store: RedisDeadLetterStore) -> dict[str, float]:
    return {
        "list, first page": median_ms(lambda: store.page(Query())),
        "list --reason": median_ms(lambda: store.page(Query(reason="exhausted"))),
        "list --task --reason": median_ms(
            lambda: store.page(Query(task=TASKS[0], reason="exhausted"))
        ),
        "stats": median_ms(store.counts),
    }


@contextmanager
def scratch_store() -> Iterator[RedisDeadLetterStore]:
    """A store on a throwaway key prefix in DEAD_LETTER_REDIS_URL, deleted afterwards."""
    client = redis.Redis.from_url(
        get_settings().dead_letter_redis_url.get_secret_value(), decode_responses=True
    )
    store = RedisDeadLetterStore(client, prefix=f"bench-{uuid.uuid4().hex[:8]}")
    try:
        yield store
    finally:
        for key in client.scan_iter(f"{store.prefix}:*", count=1000):
            client.delete(key)


def print_scaling(
    label: str, sizes: tuple[int, int], at_small: dict[str, float], at_full: dict[str, float]
) -> None:
    """Each measurement at both sizes, and how much it grew."""
    small, records = sizes
    print(f"{label:<22} {small:>8} records {records:>8} records   ratio")
    for name, small_ms in at_small.items():
        full_ms = at_full[name]
        print(f"{name:<22} {small_ms:>11.2f} ms {full_ms:>11.2f} ms   {full_ms / small_ms:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    records = parser.parse_args().records
    small = records // 10
    with scratch_store() as store:
        started = time.perf_counter()
        for number in range(small):
            store.save(record(number))
        save_ms = (time.perf_counter() - started) * 1000 / small
        at_small = measure(store)
        for number in range(small, records):
            store.save(record(number))
        at_full = measure(store)
    print(f"save: {save_ms:.2f} ms per record")
    print_scaling("operation", (small, records), at_small, at_full)


if __name__ == "__main__":
    main()
