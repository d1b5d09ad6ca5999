"""What a console page costs as the store grows: times at 10,000 and at 100,000 records.

    python -m benchmarks.console_pages [--records 100000]

Fills a throwaway key prefix in DEAD_LETTER_REDIS_URL (deleted afterwards) with records in 60
failure groups, then times the pages a signed-in viewer opens, through the whole app (routing,
session, store, templates) in this process. Every page should cost about the same at both sizes:
O(page), not O(records).
"""

import argparse
import json
import time
from collections.abc import Callable

from starlette.testclient import TestClient
from tests.console_client import VIEWER_TOKEN, console_app, signed_in

from {{ cookiecutter.package_name }}.deadletter.groups import group_id
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter
from {{ cookiecutter.package_name }}.deadletter.store import Query, RedisDeadLetterStore

from .dead_letter_store import median_ms, print_scaling, record, scratch_store

GROUPS = 60
WRITE_BATCH = 1000


def grouped(number: int) -> DeadLetter:
    """The benchmark store's record `number`, in one of `GROUPS` groups."""
    plain = record(number)
    return DeadLetter(
        **{
            **plain.to_storage(),
            "exception_type": f"bench.errors.Error{number % GROUPS}",
            "exception_message": f"refused after {number} ms",
        }
    )


def fill(store: RedisDeadLetterStore, start: int, stop: int) -> None:
    """Write records `start` to `stop` with the store's own indexing, a batch per round trip."""
    for first in range(start, stop, WRITE_BATCH):
        with store.client.pipeline(transaction=False) as pipe:
            for number in range(first, min(first + WRITE_BATCH, stop)):
                written = grouped(number)
                pipe.set(store.key("record", written.id), json.dumps(written.to_storage()))
                store.index(pipe, written)
            pipe.execute()


def measure(store: RedisDeadLetterStore, viewer: TestClient) -> dict[str, float]:
    sample = grouped(0)
    (newest,) = store.page(Query(), limit=1)
    pages = {
        "groups": "/",
        "groups, page 2": "/?page=2",
        "a group's records": f"/groups/{group_id(sample)}",
        "records, page 1": "/records",
        "records --reason": "/records?reason=exhausted",
        "one record": f"/records/{newest.id}",
    }

    def opened(path: str) -> Callable[[], object]:
        def open_page() -> None:
            response = viewer.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")

        return open_page

    return {name: median_ms(opened(path)) for name, path in pages.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    records = parser.parse_args().records
    small = records // 10
    with scratch_store() as store:
        viewer, _ = signed_in(console_app(store), VIEWER_TOKEN)
        fill(store, 0, small)
        at_small = measure(store, viewer)
        started = time.perf_counter()
        fill(store, small, records)
        fill_s = time.perf_counter() - started
        at_full = measure(store, viewer)
    print(f"filled {records - small} records in {fill_s:.1f} s ({GROUPS} failure groups)")
    print_scaling("page", (small, records), at_small, at_full)


if __name__ == "__main__":
    main()
