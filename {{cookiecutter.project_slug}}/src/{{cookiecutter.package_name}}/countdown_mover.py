"""Every worker moves parked countdowns to their queues once they are due (`parking.py`).

A consumer step on a timer (`redis_timer.py`). Every worker runs it, so parked tasks move while
any worker lives; the move is one Lua script, so two workers never move the same message twice.
"""

import logging
import time

from celery import Celery
from kombu.transport.redis import Channel

from . import parking
from .redis_timer import RedisTimerStep

logger = logging.getLogger(__name__)


class CountdownMover(RedisTimerStep):
    """Consumer step: each `parking.MOVE_INTERVAL`, move due parked messages to their queues."""

    interval = parking.MOVE_INTERVAL
    job = "move due countdowns"

    def run(self, channel: Channel) -> None:
        with channel.conn_or_acquire() as client:
            moved = parking.move_due(client.register_script(parking.MOVE_DUE), time.time())
        if moved:
            logger.debug("moved %d due countdown task(s) to their queues", moved)


def install_countdown_mover(app: Celery) -> None:
    app.steps["consumer"].add(CountdownMover)
