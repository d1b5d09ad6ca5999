"""The worker bootstep that serves `/metrics` on `METRICS_PORT` from the worker's main process.

Only the main process serves, so one scrape sees every pool process (a server in each pool
process would answer for that process alone). At start, before the pool forks, the step gives the
worker a fresh private metrics directory and switches prometheus-client to multiprocess mode
(`multiprocess.py`); commands that merely import the package never do. Each scrape reads every
process's values, merged, plus the broker and store gauges (`gauges.py`).

`METRICS_PORT=0` leaves the worker without a server and out of multiprocess mode. A port already
in use stops start-up with a message naming `METRICS_PORT`.
"""

import atexit
import logging
import os
import threading

from celery import Celery, bootsteps
from celery.worker import WorkController
from prometheus_client import CollectorRegistry, start_http_server

from ..deadletter.store import connected_store
from ..settings import get_settings
from .gauges import GaugeCollector, SharedReadings
from .multiprocess import MetricsDirectory
from .signals import connect_signals

logger = logging.getLogger(__name__)

DIRECTORY_PREFIX = "{{ cookiecutter.package_name }}-metrics-"
# How often exited pool processes' files are merged between scrapes.
MERGE_EVERY_SECONDS = 5.0


class MergeLoop:
    """A thread that folds exited pool processes' files in between scrapes, so the directory
    stays bounded when nothing scrapes."""

    def __init__(self, directory: MetricsDirectory) -> None:
        self.directory = directory
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="metrics-merge", daemon=True)

    def run(self) -> None:
        while not self.stopped.wait(MERGE_EVERY_SECONDS):
            try:
                self.directory.merge_dead()
            except OSError:
                # Logged and tried again: a dead thread would let the directory grow unseen.
                logger.exception("could not merge the metrics files of exited pool processes")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


class MetricsExporter:
    """The directory, the HTTP server and the merge thread of one worker."""

    def __init__(self, app: Celery, port: int, gauge_interval: int) -> None:
        self.directory = MetricsDirectory.create(DIRECTORY_PREFIX)
        self.directory.activate()
        atexit.register(self.directory.remove)
        registry = CollectorRegistry()
        registry.register(self.directory)
        registry.register(GaugeCollector(SharedReadings(app, connected_store(), gauge_interval)))
        try:
            self.server, _thread = start_http_server(port, registry=registry)
        except OSError as error:
            self.directory.remove()
            logger.critical(
                "cannot start: METRICS_PORT %d is not available (%s); choose another port, "
                "or set METRICS_PORT=0 to serve no metrics",
                port,
                error,
            )
            raise SystemExit(os.EX_CONFIG) from None
        self.merge_loop = MergeLoop(self.directory)
        logger.info("serving metrics on port %d from %s", port, self.directory.path)

    def start(self) -> None:
        self.merge_loop.start()

    def stop(self) -> None:
        """Stop serving. The directory stays until the process exits: pool processes still
        finishing their tasks write to it."""
        self.merge_loop.stop()
        self.server.shutdown()
        self.server.server_close()


class MetricsServer(bootsteps.StartStopStep):
    """Worker step: the exporter is made as the worker is set up, before the pool forks, and
    stopped with the worker."""

    def include_if(self, worker: WorkController) -> bool:
        return get_settings().metrics_port != 0

    # Celery keeps what `create` returns as `self.obj`; celery-types declares it returns None.
    def create(self, worker: WorkController) -> MetricsExporter:  # type: ignore[override]
        settings = get_settings()
        return MetricsExporter(worker.app, settings.metrics_port, settings.metrics_gauge_interval)


def install_metrics(app: Celery) -> None:
    """Count every task of `app` in this process, and serve metrics from its workers."""
    connect_signals()
    app.steps["worker"].add(MetricsServer)
