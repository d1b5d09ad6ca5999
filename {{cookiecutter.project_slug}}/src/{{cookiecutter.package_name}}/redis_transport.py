"""kombu's Redis transport, with countdowns parked in Redis and deliveries recorded by holder.

Celery's `broker_transport` setting names this class; the broker URL is unchanged. Subclassing
the transport is the narrowest place that sees every task message: retries, callers'
`apply_async(countdown=…/eta=…)`, `send_task`, replays and scheduled replays all end in
`Channel._put`, the method kombu's virtual transports implement to push a message to a queue,
with exchange routing and priority already resolved. A `before_task_publish` handler can't
redirect a message, and a `Task.apply_async` override would miss `send_task` and other bases.

- `_put` parks a message due later than `parking.HOLD_AT_MOST` (see `parking.py`).
- The QoS records which worker holds each delivery (see `ownership.py`).
Everything else, restores after the visibility timeout included, is kombu's own code.
"""

import time
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.utils.json import dumps

from . import parking
from .ownership import OwnedQoS


class Channel(kombu_redis.Channel):
    QoS = OwnedQoS

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        due = parking.should_park(message, time.time())
        if due is None:
            super()._put(queue, message, **kwargs)
            return
        priority = self._get_message_priority(message, reverse=False)
        list_key = self.global_keyprefix + self._q_for_pri(queue, priority)  # type: ignore[attr-defined]
        with self.conn_or_acquire() as client:
            parking.park(client, list_key, dumps(message), due)


class Transport(kombu_redis.Transport):
    Channel = Channel


# The value of Celery's `broker_transport` setting that selects this transport.
TRANSPORT = f"{__name__}:Transport"
