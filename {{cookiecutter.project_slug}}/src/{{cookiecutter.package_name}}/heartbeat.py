"""Keep a worker's health files current; `health.py` answers the probes from them.

- `heartbeat` is touched every second by the worker's timer. The timer runs inside the
  consumer's event loop, so the heartbeat goes stale when the worker hangs or its consumer stops.
- While the consumer waits for the broker, Celery's reconnect loop holds that event loop, and a
  thread touches the heartbeat instead: a broker outage is no reason to restart the worker. The
  thread stops too if the process is frozen.
- `ready` exists from `worker_ready` until shutdown begins.

Each beat also sends `beat_signal`, so that other records of liveness follow exactly the
liveness the probes see{% if cookiecutter.broker == "redis" %} (the worker's key in Redis, `recovery.py`){% endif %}.

Celery's `heartbeat_sent` signal is not used: it stops whenever the timer does, and also when
events are switched off (`celery control disable_events`), so it would add a way to fail
liveness without detecting anything more.
"""

import threading
from pathlib import Path
from typing import Any

from celery import Celery, bootsteps
from celery.signals import worker_ready, worker_shutting_down
from celery.utils.dispatch import Signal
from celery.worker.consumer import Consumer
from kombu.asynchronous.timer import Entry

from .health import HEARTBEAT, READY

BEAT_INTERVAL = 1.0
# Where `install_health_checks` leaves the directory for the consumer step, in the app's config.
DIRECTORY_SETTING = "health_dir"
# Sent on every beat, from the worker's timer or the broker-wait thread; receivers must be quick
# and must not raise.
beat_signal = Signal(name="health_beat")


class HealthFiles:
    """The heartbeat and ready files in one directory."""

    def __init__(self, directory: Path) -> None:
        self.heartbeat = directory / HEARTBEAT
        self.ready = directory / READY

    def reset(self) -> None:
        """Create the directory and drop files left by an earlier run (volumes outlive workers)."""
        self.heartbeat.parent.mkdir(parents=True, exist_ok=True)
        self.heartbeat.unlink(missing_ok=True)
        self.ready.unlink(missing_ok=True)

    def beat(self) -> None:
        self.heartbeat.touch()
        beat_signal.send(sender=self)


class BrokerWaitBeat:
    """A thread that touches the heartbeat every second while the consumer waits for the broker."""

    def __init__(self, files: HealthFiles) -> None:
        self.files = files
        self.waiting = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="health-broker-wait", daemon=True)

    def run(self) -> None:
        while not self.stopped.wait(BEAT_INTERVAL):
            if self.waiting.is_set():
                self.files.beat()

    def start(self) -> None:
        """Start beating: until its first connection, the consumer is waiting for the broker."""
        self.waiting.set()
        self.thread.start()

    def pause(self) -> None:
        self.waiting.clear()

    def resume(self) -> None:
        self.waiting.set()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


class HealthStep(bootsteps.StartStopStep):
    """Consumer step: started once the consumer consumes, stopped whenever its connection ends."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, consumer: Consumer, **kwargs: Any) -> None:
        super().__init__(consumer, **kwargs)
        self.consumer = consumer
        self.files = HealthFiles(Path(consumer.app.conf[DIRECTORY_SETTING]))
        self.files.reset()
        self.files.beat()
        self.broker_wait = BrokerWaitBeat(self.files)
        self.broker_wait.start()
        self.timer_beat: Entry | None = None
        worker_ready.connect(self.on_worker_ready, weak=False)
        worker_shutting_down.connect(self.on_shutting_down, weak=False)

    def start(self, consumer: Consumer) -> None:
        self.files.beat()
        self.timer_beat = consumer.timer.call_repeatedly(BEAT_INTERVAL, self.files.beat)
        self.broker_wait.pause()

    def stop(self, consumer: Consumer) -> None:
        self.broker_wait.resume()
        if self.timer_beat is not None:
            consumer.timer.cancel(self.timer_beat)
            self.timer_beat = None

    def shutdown(self, consumer: Consumer) -> None:
        worker_ready.disconnect(self.on_worker_ready)
        worker_shutting_down.disconnect(self.on_shutting_down)
        self.files.ready.unlink(missing_ok=True)
        self.broker_wait.stop()

    def on_worker_ready(self, sender: Consumer, **_: Any) -> None:
        if sender is self.consumer:
            self.files.ready.touch()

    def on_shutting_down(self, sender: str, **_: Any) -> None:
        if sender == self.consumer.hostname:
            self.files.ready.unlink(missing_ok=True)


def install_health_checks(app: Celery, directory: Path) -> None:
    """Keep the health files in `directory` current in every worker of `app`."""
    app.conf[DIRECTORY_SETTING] = str(directory)
    app.steps["consumer"].add(HealthStep)
