"""Which worker holds which unacknowledged delivery, so a live worker can return a dead one's.

kombu's Redis transport keeps every unacknowledged message in one hash (`unacked`) and restores
them only once they are older than the visibility timeout: it can't tell a delivery held by a dead
worker from one a live worker is still running. This QoS also records, for each delivery tag, the
worker process that holds it: the hash `HOLDERS_KEY` (tag → owner) is the record, set when a
worker receives the delivery and cleared on ack, reject or restore. A set per owner indexes its
tags, so a sweep needn't read the whole hash; it may keep tags the owner no longer holds (kombu
keeps a message's tag when it returns it to the queue, so the next worker to fetch it records the
same tag), which is why `restore_if_held_by` restores a tag only while the hash still names the
dead owner, checked in the same transaction as kombu's restore. `recovery.py` sweeps the owners
whose heartbeat has expired.

The holder is recorded in the same transaction as kombu's own record of the message (one round
trip per delivery, as kombu alone makes). A process that never claimed an identity (a publisher, a
script) records nothing; its deliveries wait for the visibility timeout as before.
"""

import time
import uuid
from typing import Any

from kombu.transport import virtual
from kombu.transport.redis import QoS
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads
from redis import Redis
from redis.client import Pipeline

# The set of every owner that may hold deliveries, each owner's set of delivery tags, and the
# hash naming the current holder of each unacknowledged delivery.
OWNERS_KEY = "delivery-owners"
OWNED_PREFIX = "deliveries-held-by:"
HOLDERS_KEY = "delivery-holders"


class Identity:
    """This process's name as a delivery owner, once its worker claims one."""

    name: str | None = None

    @classmethod
    def claim(cls, hostname: str) -> str:
        """A name unique to this run: a restarted worker keeps its hostname, but must not
        inherit the deliveries (or the heartbeat) of the run that died."""
        cls.name = f"{hostname}/{uuid.uuid4().hex[:12]}"
        return cls.name


def owned_key(owner: str) -> str:
    return f"{OWNED_PREFIX}{owner}"


class OwnedQoS(QoS):
    """kombu's Redis ack emulation, plus the holder of each unacknowledged delivery."""

    def append(self, message: Any, delivery_tag: str) -> None:
        """What kombu's `append` stores (the message with its exchange and routing key, and its
        tag in the time index), and its holder, in one transaction."""
        owner = Identity.name
        if owner is None:
            super().append(message, delivery_tag)
            return
        delivery = message.delivery_info
        stored = dumps([message._raw, delivery["exchange"], delivery["routing_key"]])
        with self.pipe_or_acquire() as pipe:
            pipe.zadd(self.unacked_index_key, {delivery_tag: time.time()})
            pipe.hset(self.unacked_key, delivery_tag, stored)
            pipe.sadd(OWNERS_KEY, owner).sadd(owned_key(owner), delivery_tag)
            pipe.hset(HOLDERS_KEY, delivery_tag, owner).execute()
        # kombu's generic QoS keeps the message in this process until it is acknowledged.
        virtual.QoS.append(self, message, delivery_tag)

    def _remove_from_indices(self, delivery_tag: str, pipe: Any = None) -> Any:
        pipe = super()._remove_from_indices(delivery_tag, pipe)  # type: ignore[misc]
        pipe.hdel(HOLDERS_KEY, delivery_tag)
        if (owner := Identity.name) is not None:
            pipe.srem(owned_key(owner), delivery_tag)
        return pipe

    def restore_if_held_by(self, tag: str, owner: str, client: Redis) -> bool:
        """kombu's `restore_by_tag`, done only while `owner` still holds `tag`; True when a
        message was returned to its queue. The transaction watches the holders and the
        unacknowledged messages, so a worker receiving the tag again in between wins."""

        def restore_transaction(pipe: Pipeline) -> bool:
            holder = pipe.hget(HOLDERS_KEY, tag)
            if holder is None or bytes_to_str(holder) != owner:
                return False
            payload = pipe.hget(self.unacked_key, tag)
            pipe.multi()
            self._remove_from_indices(tag, pipe)
            if payload is None:
                return False
            message, exchange, routing_key = loads(bytes_to_str(payload))
            restore = self.channel._do_restore_message  # type: ignore[attr-defined]
            restore(message, exchange, routing_key, pipe, False)
            return True

        # redis-py types `func` as returning None, but value_from_callable returns its value.
        return bool(
            client.transaction(
                restore_transaction,  # type: ignore[arg-type]
                HOLDERS_KEY,
                self.unacked_key,
                value_from_callable=True,
            )
        )
