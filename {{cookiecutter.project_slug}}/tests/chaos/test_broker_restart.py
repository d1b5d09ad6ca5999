"""A broker restart while tasks are published and run: every publish is confirmed or raises to
the caller, and every confirmed task runs, once. A publish to a broker that is down raises."""

import threading
import time
import uuid

import pytest
from kombu.exceptions import OperationalError

from ..integration.workers import wait_for
from .broker import RestartableBroker
from .conftest import Publisher, Workers, report
from .ledger import Ledger

# Published on each side of the restart, at least.
EACH_SIDE = 20
MOST_PUBLISHES = 400


class PublishingLoop(threading.Thread):
    """Publishes one entry after another until stopped, sorting them by what the broker said."""

    def __init__(self, publisher: Publisher) -> None:
        super().__init__(daemon=True)
        self.publisher = publisher
        self.confirmed: list[str] = []
        self.raised: list[str] = []
        self.stopping = threading.Event()

    def published(self) -> int:
        return len(self.confirmed) + len(self.raised)

    def run(self) -> None:
        while not self.stopping.is_set() and self.published() < MOST_PUBLISHES:
            entry_id = f"entry-{uuid.uuid4().hex[:12]}"
            try:
                self.publisher.publish(entry_id, work_seconds=0.02)
            except OperationalError:
                self.raised.append(entry_id)
            else:
                self.confirmed.append(entry_id)
            # A steady trickle of publishes, so some of them meet the restart.
            self.stopping.wait(0.05)


def test_a_broker_restart_loses_no_confirmed_task_and_runs_none_twice(
    workers: Workers, publisher: Publisher, the_ledger: Ledger, chaos_broker: RestartableBroker
) -> None:
    workers.start()
    loop = PublishingLoop(publisher)
    loop.start()
    try:
        wait_for(lambda: len(loop.confirmed) >= EACH_SIDE, within=60, what="publishes before")
        restarted_at = time.monotonic()
        chaos_broker.restart()
        restart_took = time.monotonic() - restarted_at
        after = len(loop.confirmed)
        wait_for(
            lambda: len(loop.confirmed) >= after + EACH_SIDE, within=60, what="publishes after"
        )
    finally:
        loop.stopping.set()
        loop.join(timeout=60)
    wait_for(
        lambda: set(loop.confirmed) <= set(the_ledger.counts("effects")),
        within=120,
        what="every confirmed task's effect",
    )
    effects = the_ledger.counts("effects")
    report(
        f"broker restart ({restart_took:.1f} s): {len(loop.confirmed)} publishes confirmed, "
        f"{len(loop.raised)} raised to the caller; {len(effects)} effects, each applied once"
    )
    assert set(effects.values()) == {1}
    # A publish that raised may still have reached the broker (its confirmation was lost), and so
    # run; nothing that was never published runs.
    assert set(effects) <= set(loop.confirmed) | set(loop.raised)


def test_a_publish_while_the_broker_is_down_raises_to_the_caller(
    workers: Workers, publisher: Publisher, the_ledger: Ledger, chaos_broker: RestartableBroker
) -> None:
    workers.start()
    entry_id = f"entry-{uuid.uuid4().hex[:12]}"
    with chaos_broker.down():
        tried_at = time.monotonic()
        with pytest.raises(OperationalError):
            publisher.publish(entry_id)
        gave_up_after = time.monotonic() - tried_at
    report(f"a publish to a stopped broker raised after {gave_up_after:.1f} s")
    # The caller knows: it publishes again once the broker is back, and the task runs once.
    publisher.publish(entry_id)
    wait_for(lambda: the_ledger.counts("effects") == {entry_id: 1}, within=60, what="the effect")
