"""A task whose worker dies mid-task runs again and completes once; a warm shutdown finishes it.

Each test prints its time to recovery: from the kill to the task's side effect.
"""

import os
import signal
import time
import uuid
{%- if cookiecutter.broker == "redis" %}

import redis
from kombu.transport.redis import Channel

from {{ cookiecutter.package_name }}.parking import PARKED_KEY
{%- endif %}

from ..integration.workers import WorkerProcess, wait_for
{%- if cookiecutter.broker == "redis" %}
from .broker import RestartableBroker
{%- endif %}
from .conftest import Publisher, Workers, report
from .ledger import Ledger

# Long enough for the test to see the task start and kill it in the middle.
WORK_SECONDS = 4.0
COMPLETES_WITHIN = 90.0
{%- if cookiecutter.broker == "redis" %}
UNACKED = Channel.unacked_key
{%- endif %}


def new_entry() -> str:
    return f"entry-{uuid.uuid4().hex[:12]}"


def wait_until_started(the_ledger: Ledger, entry_id: str) -> int:
    """The pid of the pool process running `entry_id`, once it has started."""
    wait_for(lambda: the_ledger.pid(entry_id) is not None, within=30, what=f"{entry_id} started")
    pid = the_ledger.pid(entry_id)
    assert pid is not None
    return pid


def wait_until_applied(the_ledger: Ledger, entry_id: str) -> float:
    """Seconds until `entry_id`'s effect is applied."""
    started = time.monotonic()
    wait_for(
        lambda: entry_id in the_ledger.counts("effects"),
        within=COMPLETES_WITHIN,
        what=f"{entry_id}'s effect",
    )
    return time.monotonic() - started


def start_an_entry(
    workers: Workers, publisher: Publisher, the_ledger: Ledger
) -> tuple[WorkerProcess, str, int]:
    """A new worker, mid-way through a new entry's work: the worker, the entry, and the pid of
    the pool process running it."""
    worker = workers.start()
    entry_id = new_entry()
    publisher.publish(entry_id, work_seconds=WORK_SECONDS)
    return worker, entry_id, wait_until_started(the_ledger, entry_id)


def report_recovery(fault: str, recovery: float) -> None:
    report(f"{fault}: effect applied {recovery:.1f} s later, {WORK_SECONDS} s of it the work")


def test_a_killed_pool_process_s_task_runs_again_and_completes_once(
    workers: Workers, publisher: Publisher, the_ledger: Ledger
) -> None:
    _, entry_id, pool_process = start_an_entry(workers, publisher, the_ledger)
    os.kill(pool_process, signal.SIGKILL)
    recovery = wait_until_applied(the_ledger, entry_id)
    report_recovery("SIGKILL of the pool process", recovery)
    assert the_ledger.counts("starts")[entry_id] == 2
    assert the_ledger.counts("effects")[entry_id] == 1


def test_a_killed_worker_s_task_completes_on_a_new_worker(
    workers: Workers, publisher: Publisher, the_ledger: Ledger
) -> None:
    doomed, entry_id, _ = start_an_entry(workers, publisher, the_ledger)
    doomed.kill()
    killed_at = time.monotonic()
    workers.start()
    wait_until_applied(the_ledger, entry_id)
    report_recovery("SIGKILL of the whole worker", time.monotonic() - killed_at)
    assert the_ledger.counts("starts")[entry_id] == 2
    assert the_ledger.counts("effects")[entry_id] == 1


def test_sigterm_lets_the_running_task_finish_and_it_is_not_delivered_again(
    workers: Workers, publisher: Publisher, the_ledger: Ledger
) -> None:
    stopping, entry_id, _ = start_an_entry(workers, publisher, the_ledger)
    assert stopping.stop() == 0
    assert the_ledger.counts("effects") == {entry_id: 1}
    # A new worker on the same queue gets nothing more of that task: a later entry runs alone.
    workers.start()
    sentinel = new_entry()
    publisher.publish(sentinel)
    wait_until_applied(the_ledger, sentinel)
    assert the_ledger.counts("starts") == {entry_id: 1, sentinel: 1}
    assert the_ledger.counts("effects") == {entry_id: 1, sentinel: 1}
{%- if cookiecutter.broker == "redis" %}


def test_a_countdown_task_waits_in_redis_so_stopping_a_worker_cannot_delay_it(
    workers: Workers, publisher: Publisher, the_ledger: Ledger, chaos_broker: RestartableBroker
) -> None:
    """On Redis a task waiting for its countdown is parked in Redis (`parking.py`), not held
    unacknowledged by a worker: the worker that was running can stop, and another runs the task
    once, when it is due."""
    broker = redis.Redis.from_url(chaos_broker.url)
    first = workers.start()
    entry_id = new_entry()
    publisher.publish(entry_id, countdown=8)
    wait_for(lambda: broker.zcard(PARKED_KEY) == 1, within=30, what="the task parked in Redis")
    assert broker.hlen(UNACKED) == 0
    assert first.stop() == 0
    workers.start()
    wait_until_applied(the_ledger, entry_id)
    assert the_ledger.counts("starts") == {entry_id: 1}
{%- endif %}
