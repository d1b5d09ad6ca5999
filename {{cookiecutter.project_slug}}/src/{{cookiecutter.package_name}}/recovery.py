"""A dead worker's unacknowledged deliveries go back to the queue within seconds.

On Redis nothing else notices a dead worker: its messages would wait for the visibility
timeout. Here each worker keeps a key in the broker's Redis alive for `HEALTH_HEARTBEAT_MAX_AGE`
seconds, the age at which its liveness probe fails, refreshed by every beat of its health file
(`heartbeat.py`), so a worker waiting for the broker or busy with long tasks stays alive exactly
when its liveness probe says so. `ownership.py` records which worker holds each delivery. Every
`SWEEP_INTERVAL`, every worker looks for owners whose key has expired and returns the deliveries
they still hold to the queue, through kombu's own restore: one transaction checks the holder,
removes the message from `unacked` and pushes it back, so a delivery is restored once however
many workers sweep at the same time, and never when another worker has received it since.

A worker names itself anew whenever its consumer (re)connects, so the deliveries of a lost
connection stay with the old name, which expires like a dead worker's, and a restarted worker
never inherits its predecessor's name. A worker that is shutting down keeps its name alive (the
broker-wait thread goes on beating) until it exits, so the tasks it finishes are not restored
under it. A worker that was only cut off and comes back may still be running a task that was
restored: the task runs twice, which at-least-once delivery allows and idempotency keys cover.
The visibility timeout stays as the last resort.
"""

import logging
import time
from typing import Any, cast

import redis
from celery import Celery
from celery.worker.consumer import Consumer
from kombu.transport.redis import Channel
from kombu.utils.encoding import bytes_to_str

from .heartbeat import beat_signal
from .ownership import OWNERS_KEY, Identity, OwnedQoS, owned_key
from .redis_timer import RedisTimerStep
from .settings import get_settings

logger = logging.getLogger(__name__)

# How often each worker looks for dead owners: a dead worker's deliveries are back in their
# queue at most HEALTH_HEARTBEAT_MAX_AGE + SWEEP_INTERVAL seconds after its last beat.
SWEEP_INTERVAL = 5.0
# One worker restores a dead owner at a time; the claim lapses if that worker dies too.
CLAIM_FOR = 60
ALIVE_PREFIX = "worker-alive:"
CLAIM_PREFIX = "restoring-deliveries-of:"
# Heartbeats must not hold up the worker's event loop when Redis is away.
BEAT_TIMEOUT = 1.0
# A worker that can't refresh its key says so at most this often (it beats every second).
BEAT_WARNING_INTERVAL = 60.0


def alive_key(owner: str) -> str:
    return f"{ALIVE_PREFIX}{owner}"


class Liveness:
    """This worker's key in Redis, kept alive for `alive_for` seconds by each health beat."""

    def __init__(self, broker_url: str, alive_for: int) -> None:
        self.client = redis.Redis.from_url(
            broker_url, socket_timeout=BEAT_TIMEOUT, socket_connect_timeout=BEAT_TIMEOUT
        )
        self.alive_for = alive_for
        self.warned_at: float | None = None

    def beat(self, **_: Any) -> None:
        if (owner := Identity.name) is None:
            return
        try:
            self.client.set(alive_key(owner), 1, ex=self.alive_for)
        except (redis.RedisError, OSError) as error:
            self.warn(error)

    def warn(self, error: Exception) -> None:
        now = time.monotonic()
        if self.warned_at is None or now - self.warned_at >= BEAT_WARNING_INTERVAL:
            self.warned_at = now
            logger.warning(
                "could not refresh this worker's key in Redis (%s): other workers return its "
                "messages to the queue if it stays away for %d s",
                error,
                self.alive_for,
            )

    def is_alive(self, owner: str) -> bool:
        return bool(self.client.exists(alive_key(owner)))


def restore_deliveries(channel: Channel, owner: str, restorer: str) -> int | None:
    """Return `owner`'s unacknowledged deliveries to their queues and forget the owner; None
    when another worker is already doing so. Returns how many were restored."""
    with channel.conn_or_acquire() as client:
        if not client.set(f"{CLAIM_PREFIX}{owner}", restorer, nx=True, ex=CLAIM_FOR):
            return None
        qos = cast(OwnedQoS, channel.qos)
        restored = sum(
            qos.restore_if_held_by(bytes_to_str(tag), owner, client)
            for tag in client.smembers(owned_key(owner))
        )
        client.pipeline().delete(owned_key(owner)).srem(OWNERS_KEY, owner).execute()
        return restored


class DeadWorkerRecovery(RedisTimerStep):
    """Consumer step: keep this worker's key alive; restore the deliveries of dead workers."""

    interval = SWEEP_INTERVAL
    job = "look for dead workers"

    def __init__(self, consumer: Consumer, **kwargs: Any) -> None:
        super().__init__(consumer, **kwargs)
        self.hostname = consumer.hostname
        self.liveness = Liveness(self.app.conf.broker_url, get_settings().health_heartbeat_max_age)
        beat_signal.connect(self.liveness.beat, weak=False)

    def start(self, consumer: Consumer) -> None:
        # A new connection's deliveries belong to a new name. The old one, no longer refreshed,
        # expires like a dead worker's, so whatever the lost connection held is restored. Not
        # on stop: a worker shutting down still runs its tasks, under the name it keeps alive.
        Identity.claim(self.hostname)
        self.liveness.beat()
        super().start(consumer)

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
