"""A dead worker's unacknowledged deliveries go back to the queue within seconds.

On Redis nothing else notices a dead worker: its messages would wait for the visibility
timeout. Here each worker keeps a key in the broker's Redis alive for `ALIVE_FOR` seconds,
refreshed by every beat of its health file (`heartbeat.py`), so a worker waiting for the broker
or busy with long tasks stays alive exactly when its liveness probe says so. `ownership.py`
records which deliveries each worker holds. Every `SWEEP_INTERVAL`, every worker looks for
owners whose key has expired and returns their deliveries to the queue with kombu's own
`QoS.restore_by_tag`: a transaction that removes the message from `unacked` and pushes it
back, so a delivery is restored once however many workers sweep at the same time.

A worker names itself anew whenever its broker connection ends (the deliveries of that
connection are the dead ones), so a restarted worker never inherits its predecessor's name.
A worker that was only cut off and comes back may still be running a task that was restored:
the task runs twice, which at-least-once delivery allows and idempotency keys cover. The
visibility timeout stays as the last resort.
"""

import logging
from typing import Any, cast

import redis
from celery import Celery
from celery.worker.consumer import Consumer
from kombu.transport.redis import Channel, QoS

from .heartbeat import beat_signal
from .ownership import OWNERS_KEY, Identity, owned_key
from .redis_timer import RedisTimerStep

logger = logging.getLogger(__name__)

# An owner whose key was not refreshed for this long is dead (the health file beats every second).
ALIVE_FOR = 15
# How often each worker looks for dead owners: a dead worker's deliveries are back in their
# queue at most ALIVE_FOR + SWEEP_INTERVAL seconds after its last beat.
SWEEP_INTERVAL = 5.0
# One worker restores a dead owner at a time; the claim lapses if that worker dies too.
CLAIM_FOR = 60
ALIVE_PREFIX = "worker-alive:"
CLAIM_PREFIX = "restoring-deliveries-of:"
# Heartbeats must not hold up the worker's event loop when Redis is away.
BEAT_TIMEOUT = 1.0


def alive_key(owner: str) -> str:
    return f"{ALIVE_PREFIX}{owner}"


class Liveness:
    """This worker's key in Redis, kept alive by each health beat."""

    def __init__(self, broker_url: str) -> None:
        self.client = redis.Redis.from_url(
            broker_url, socket_timeout=BEAT_TIMEOUT, socket_connect_timeout=BEAT_TIMEOUT
        )

    def beat(self, **_: Any) -> None:
        if (owner := Identity.name) is None:
            return
        try:
            self.client.set(alive_key(owner), 1, ex=ALIVE_FOR)
        except (redis.RedisError, OSError) as error:
            logger.debug("could not refresh the worker's key in Redis: %s", error)

    def is_alive(self, owner: str) -> bool:
        return bool(self.client.exists(alive_key(owner)))


def restore_deliveries(channel: Channel, owner: str, restorer: str) -> int | None:
    """Return `owner`'s unacknowledged deliveries to their queues and forget the owner; None
    when another worker is already doing so. Returns how many were restored."""
    with channel.conn_or_acquire() as client:
        if not client.set(f"{CLAIM_PREFIX}{owner}", restorer, nx=True, ex=CLAIM_FOR):
            return None
        restored = 0
        for tag in client.smembers(owned_key(owner)):
            if client.hexists(channel.unacked_key, tag):
                cast(QoS, channel.qos).restore_by_tag(tag, client)
                restored += 1
        client.pipeline().delete(owned_key(owner)).srem(OWNERS_KEY, owner).execute()
        return restored


class DeadWorkerRecovery(RedisTimerStep):
    """Consumer step: keep this worker's key alive; restore the deliveries of dead workers."""

    interval = SWEEP_INTERVAL
    job = "look for dead workers"

    def __init__(self, consumer: Consumer, **kwargs: Any) -> None:
        super().__init__(consumer, **kwargs)
        self.hostname = consumer.hostname
        self.liveness = Liveness(self.app.conf.broker_url)
        Identity.claim(self.hostname)
        self.liveness.beat()
        beat_signal.connect(self.liveness.beat, weak=False)

    def stop(self, consumer: Consumer) -> None:
        # This connection's deliveries are gone with it: later ones belong to a new name, and the
        # old name expires like a dead worker's, so whatever the connection held is restored.
        Identity.claim(self.hostname)
        super().stop(consumer)

    def shutdown(self, consumer: Consumer) -> None:
        beat_signal.disconnect(self.liveness.beat)

    def run(self, channel: Channel) -> None:
        with channel.conn_or_acquire() as client:
            owners = [owner.decode() for owner in client.smembers(OWNERS_KEY)]
        for owner in owners:
            if owner != Identity.name and not self.liveness.is_alive(owner):
                self.restore(channel, owner)

    def restore(self, channel: Channel, owner: str) -> None:
        restored = restore_deliveries(channel, owner, str(Identity.name))
        if restored:
            logger.warning(
                "worker %s stopped beating: returned %d unacknowledged message(s) to the queue",
                owner,
                restored,
            )


def install_dead_worker_recovery(app: Celery) -> None:
    app.steps["consumer"].add(DeadWorkerRecovery)
