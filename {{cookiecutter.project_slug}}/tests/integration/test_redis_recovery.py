"""Redis: countdowns wait in Redis, and a dead worker's work resumes within seconds.

These tests run their own workers with the default time settings against a `redis-server` of
their own (the session's main worker doesn't know their tasks and would take their messages).
The ones that stop or kill whole workers take from 20 s to minutes each: they are marked
`chaos` and run with `-m chaos`, which CI runs once per broker.
"""

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import redis
from kombu import Producer
from kombu.transport.redis import Channel
from pydantic import SecretStr

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.ownership import OWNERS_KEY, Identity, OwnedQoS, owned_key
from {{ cookiecutter.package_name }}.parking import MOVE_DUE, PARKED_KEY, move_due, park
from {{ cookiecutter.package_name }}.recovery import SWEEP_INTERVAL, Liveness, restore_deliveries
from {{ cookiecutter.package_name }}.redis_client import redis_client
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.topology import WORK_QUEUE

from ..chaos.broker import RestartableBroker
from . import recovery_tasks
from .workers import STOP_WITHIN, WorkerProcess, holds_throughout, spawn_worker, wait_for

# The bound: a dead worker's task completes elsewhere within this long, with defaults.
RESUMED_WITHIN = 30.0
# A worker's name expires this long after its last beat, and a sweep follows within SWEEP_INTERVAL.
NAME_EXPIRES_AFTER = Settings.model_fields["health_heartbeat_max_age"].default
# A retry waits this long while its worker is SIGKILLed: the minute.
RETRY_COUNTDOWN = 60
# A port in this suite's range where no Redis listens.
NOTHING_LISTENS_ON = 19701
# Longer than the name's expiry plus a sweep, shorter than a warm shutdown may take.
LONG_TASK = NAME_EXPIRES_AFTER + SWEEP_INTERVAL + 3


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableBroker]:
    server = RestartableBroker(tmp_path_factory.mktemp("recovery-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(own_redis: RestartableBroker) -> Iterator[redis.Redis]:
    connected = redis_client(SecretStr(own_redis.url))
    connected.flushdb()
    yield connected
    connected.close()


@pytest.fixture
def publisher(own_redis: RestartableBroker) -> Iterator[Producer]:
    """Publishes to `own_redis`, through the service's transport."""
    with app.connection_for_write(own_redis.url) as connection:
        yield connection.Producer()


class Workers:
    """Workers on `own_redis` with default settings; all are killed when the test ends."""

    def __init__(self, url: str, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.env = {
            name: url
            for name in (
                "CELERY_BROKER_URL",
                "CELERY_RESULT_BACKEND",
                "DEAD_LETTER_REDIS_URL",
                "IDEMPOTENCY_REDIS_URL",
            )
        }
        self.started: list[WorkerProcess] = []
        self.replaced: list[WorkerProcess] = []

    def start(self, count: int, **env: str) -> list[WorkerProcess]:
        """`count` workers, started together and returned once all are ready."""
        batch = [
            spawn_worker(
                self.log_dir, f"--include={recovery_tasks.MODULE}", env={**self.env, **env}
            )
            for _ in range(count)
        ]
        self.started += batch
        for worker in batch:
            worker.wait_until_ready()
        return batch

    def replace_the_dead(self) -> None:
        """Start a worker for each one that has exited since the last call, as a deployment
        would, without waiting for it."""
        for worker in list(self.started):
            if worker.process.poll() is not None and worker not in self.replaced:
                self.replaced.append(worker)
                self.started.append(
                    spawn_worker(self.log_dir, f"--include={recovery_tasks.MODULE}", env=self.env)
                )

    def named(self, nodename: str) -> WorkerProcess:
        return next(worker for worker in self.started if worker.nodename == nodename)

    def kill_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.kill()


@pytest.fixture
def workers(own_redis: RestartableBroker, worker_logs: Path) -> Iterator[Workers]:
    started = Workers(own_redis.url, worker_logs)
    try:
        yield started
    finally:
        started.kill_all()


def first_run(client: redis.Redis, task_id: str) -> tuple[float, str]:
    wait_for(lambda: bool(recovery_tasks.runs(client, task_id)), 30, f"{task_id} started")
    return recovery_tasks.runs(client, task_id)[0]


def test_due_parked_messages_move_exactly_once_whatever_the_number_of_movers(
    client: redis.Redis,
) -> None:
    payloads = [json.dumps({"n": n}) for n in range(300)]
    for payload in payloads:
        park(client, WORK_QUEUE, payload, due=time.time() - 1)
    movers = [
        threading.Thread(target=move_due, args=(client.register_script(MOVE_DUE), time.time()))
        for _ in range(8)
    ]
    for mover in movers:
        mover.start()
    for mover in movers:
        mover.join()
    assert client.zcard(PARKED_KEY) == 0
    assert sorted(str(item) for item in client.lrange(WORK_QUEUE, 0, -1)) == sorted(payloads)


def test_a_countdown_is_parked_with_its_queue_and_priority(
    client: redis.Redis, publisher: Producer
) -> None:
    recovery_tasks.naps.apply_async((0,), countdown=600, priority=5, producer=publisher)
    [entry] = [str(member) for member in client.zrange(PARKED_KEY, 0, -1)]
    list_key, payload = json.loads(entry)
    # kombu's Redis priority steps are 0, 3, 6, 9: priority 5 goes to the list of step 3.
    assert list_key == f"{WORK_QUEUE}\x06\x163"
    assert json.loads(payload)["properties"]["priority"] == 5
    assert client.zscore(PARKED_KEY, entry) == pytest.approx(time.time() + 600, abs=5)
    assert client.llen(WORK_QUEUE) == 0


@pytest.mark.chaos
def test_a_whole_worker_killed_mid_task_resumes_on_another_within_30_s(
    client: redis.Redis, publisher: Producer, workers: Workers
) -> None:
    workers.start(2)
    sent = recovery_tasks.naps.apply_async((2,), producer=publisher)
    _, holder = first_run(client, sent.id)
    workers.named(holder).kill()
    killed_at = time.time()
    wait_for(
        lambda: recovery_tasks.done_at(client, sent.id) is not None,
        RESUMED_WITHIN,
        "the task completed on the other worker",
    )
    runs = recovery_tasks.runs(client, sent.id)
    done = recovery_tasks.done_at(client, sent.id)
    assert done is not None
    print(
        "\nchaos: whole worker SIGKILLed mid-task, default settings: completed on another "
        f"{done - killed_at:.1f} s later"
    )
    assert len(runs) == 2
    assert runs[1][1] != holder
    assert done - killed_at <= RESUMED_WITHIN


@pytest.mark.chaos
def test_a_worker_stopped_mid_task_finishes_it_and_no_other_worker_runs_it_again(
    client: redis.Redis, publisher: Producer, workers: Workers
) -> None:
    workers.start(2)
    sent = recovery_tasks.naps.apply_async((LONG_TASK,), producer=publisher)
    _, holder = first_run(client, sent.id)
    stopping = workers.named(holder)
    stopping.process.terminate()
    wait_for(
        lambda: recovery_tasks.done_at(client, sent.id) is not None,
        LONG_TASK + 5,
        "the stopping worker finished its task",
    )
    assert stopping.process.wait(STOP_WITHIN) == 0
    wait_for(lambda: client.hlen("unacked") == 0, 10, "the finished task acknowledged")
    # Until the stopped worker's name has expired and been swept, and a while after.
    holds_throughout(
        lambda: len(recovery_tasks.runs(client, sent.id)) == 1,
        NAME_EXPIRES_AFTER + 2 * SWEEP_INTERVAL,
        "the task ran once",
    )


def test_a_tag_received_again_by_a_live_worker_is_not_restored_with_its_old_holder(
    client: redis.Redis, publisher: Producer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kombu keeps a message's tag when it returns it to the queue: the tag stays in the set of
    its first holder (A) while a second worker (B) runs it. A's expiry must not restore it."""
    monkeypatch.setattr(Identity, "name", None)
    recovery_tasks.naps.apply_async((0,), producer=publisher)
    channel = cast(Channel, publisher.channel)
    qos = channel.qos
    assert isinstance(qos, OwnedQoS)
    first_holder = Identity.claim("a@test")
    received_by_a = channel.basic_get(WORK_QUEUE, no_ack=False)
    assert received_by_a is not None
    tag = str(received_by_a.delivery_tag)
    Identity.claim("c@test")
    qos.restore_by_tag(tag)  # returned to the queue by another worker, as a sweep or reject does
    Identity.claim("b@test")
    received_by_b = channel.basic_get(WORK_QUEUE, no_ack=False)
    assert received_by_b is not None
    assert received_by_b.delivery_tag == tag
    assert client.sismember(owned_key(first_holder), tag)

    assert restore_deliveries(channel, first_holder, "c@test") == 0
    assert client.hexists("unacked", tag)
    assert client.llen(WORK_QUEUE) == 0
    assert not client.sismember(OWNERS_KEY, first_holder)


def test_a_worker_that_cannot_refresh_its_key_warns_once_a_minute(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Identity, "name", "a@test/1")
    liveness = Liveness(f"redis://127.0.0.1:{NOTHING_LISTENS_ON}/0", NAME_EXPIRES_AFTER)
    with caplog.at_level(logging.WARNING, logger=Liveness.__module__):
        for _ in range(3):
            liveness.beat()
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert "could not refresh this worker's key" in caplog.records[0].getMessage()


@pytest.mark.chaos
def test_a_retry_waiting_a_minute_survives_its_worker_and_runs_once_when_due(
    client: redis.Redis, publisher: Producer, workers: Workers
) -> None:
    workers.start(2)
    sent = recovery_tasks.fails_then_waits.apply_async((RETRY_COUNTDOWN,), producer=publisher)
    failed_at, holder = first_run(client, sent.id)
    wait_for(lambda: client.zcard(PARKED_KEY) == 1, 10, "the retry parked in Redis")
    wait_for(lambda: client.hlen("unacked") == 0, 10, "the failed run acknowledged")
    workers.named(holder).kill()
    wait_for(
        lambda: recovery_tasks.done_at(client, sent.id) is not None,
        RETRY_COUNTDOWN + 10,
        "the retry ran",
    )
    runs = recovery_tasks.runs(client, sent.id)
    assert len(runs) == 2
    retried_at, retried_on = runs[1]
    assert retried_on != holder
    waited = retried_at - failed_at
    print(
        f"\nchaos: retry due {RETRY_COUNTDOWN} s after a failure, worker SIGKILLed: "
        f"ran {waited:.1f} s after"
    )
    assert RETRY_COUNTDOWN <= waited <= RETRY_COUNTDOWN + 3


@pytest.mark.chaos
def test_a_poison_task_is_dead_lettered_at_the_default_limit_as_it_kills_whole_workers(
    client: redis.Redis, publisher: Producer, workers: Workers, own_redis: RestartableBroker
) -> None:
    limit = Settings.model_fields["redis_delivery_limit"].default
    workers.start(2)
    sent = recovery_tasks.kills_its_whole_worker.apply_async(producer=publisher)
    store = RedisDeadLetterStore(redis_client(SecretStr(own_redis.url)))

    def dead_lettered() -> bool:
        workers.replace_the_dead()
        return store.get(sent.id) is not None

    started = time.monotonic()
    wait_for(dead_lettered, (limit + 1) * RESUMED_WITHIN, "the poison task dead-lettered")
    record = store.get(sent.id)
    assert record is not None
    runs = len(recovery_tasks.runs(client, sent.id))
    took = time.monotonic() - started
    print(f"\nchaos: poison killing whole workers: {runs} runs, dead-lettered after {took:.0f} s")
    assert record.reason == "delivery_limit"
    assert runs == limit
