"""Which worker holds which unacknowledged delivery, so a live worker can return a dead one's.

kombu's Redis transport keeps every unacknowledged message in one hash (`unacked`) and restores
them only once they are older than the visibility timeout: it can't tell a delivery held by a dead
worker from one a live worker is still running. This QoS also records each delivery's tag in a
set of the worker process that holds it, and drops it on ack, reject or restore. `recovery.py`
restores the tags of an owner whose heartbeat has expired.

The tag is recorded before kombu stores the message: a crash in between leaves a tag with no
message, which restoring skips. A process that never claimed an identity (a publisher, a
script) records nothing; its deliveries wait for the visibility timeout as before.
"""

import uuid
from typing import Any

from kombu.transport.redis import QoS

# The set of every owner that may hold deliveries, and each owner's set of delivery tags.
OWNERS_KEY = "delivery-owners"
OWNED_PREFIX = "deliveries-held-by:"


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
        if (owner := Identity.name) is not None:
            with self.pipe_or_acquire() as pipe:
                pipe.sadd(OWNERS_KEY, owner).sadd(owned_key(owner), delivery_tag).execute()
        super().append(message, delivery_tag)

    def _remove_from_indices(self, delivery_tag: str, pipe: Any = None) -> Any:
        pipe = super()._remove_from_indices(delivery_tag, pipe)  # type: ignore[misc]
        if (owner := Identity.name) is not None:
            pipe.srem(owned_key(owner), delivery_tag)
        return pipe
