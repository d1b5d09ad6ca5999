"""A consumer step that does a small job on the broker's Redis every few seconds.

Dead-worker recovery and the countdown mover both run this way: while the consumer is
connected, on the consumer's own timer, through a connection of their own. A job that fails
(Redis away, a timeout) is logged and runs again at the next tick.

The jobs run in the worker's event loop, so their connection has socket timeouts: without them
(kombu's default), a command on a half-open connection (a failover, a NAT or firewall dropping
it silently) waits forever, the event loop with it, and the worker fails its liveness probe. Only
this connection has them: it never consumes, so kombu's BRPOP polling, on the consumer's own
connection, is untouched.
"""

import logging
from typing import Any, cast

import redis
from celery import Celery, bootsteps
from celery.worker.consumer import Consumer
from kombu import Connection
from kombu.asynchronous.timer import Entry
from kombu.exceptions import OperationalError
from kombu.transport.redis import Channel

logger = logging.getLogger(__name__)

# The longest a job's command may wait on Redis; far above the job's own round trips.
SOCKET_TIMEOUT = 5.0


class RedisTimerStep(bootsteps.StartStopStep):
    """Consumer step: `run(channel)` every `interval` seconds. Subclasses set `interval`, `job`
    (what the warning says could not be done) and `run`."""

    requires = ("celery.worker.consumer.tasks:Tasks",)
    interval: float
    job: str

    def __init__(self, consumer: Consumer, **kwargs: Any) -> None:
        super().__init__(consumer, **kwargs)
        self.app: Celery = consumer.app
        self.connection: Connection | None = None
        self.timer_entry: Entry | None = None

    def start(self, consumer: Consumer) -> None:
        self.connection = self.app.connection_for_write(
            transport_options={
                "socket_timeout": SOCKET_TIMEOUT,
                "socket_connect_timeout": SOCKET_TIMEOUT,
            }
        )
        self.timer_entry = consumer.timer.call_repeatedly(self.interval, self.tick)

    def stop(self, consumer: Consumer) -> None:
        if self.timer_entry is not None:
            consumer.timer.cancel(self.timer_entry)
            self.timer_entry = None
        if self.connection is not None:
            self.connection.release()
            self.connection = None

    def tick(self) -> None:
        if self.connection is None:
            return
        try:
            self.run(cast(Channel, self.connection.default_channel))
        except (redis.RedisError, OperationalError, OSError) as error:
            logger.warning("could not %s (%s); trying again", self.job, error)
            self.connection.collect()

    def run(self, channel: Channel) -> None:
        raise NotImplementedError
