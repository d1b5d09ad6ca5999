"""The tour runner, started by `python -m {{ cookiecutter.package_name }} tour` with the tour's settings.

It empties the tour's own place on the broker and in Redis, starts the stubs and both workers,
plays the steps, and stops everything on the way out, whatever ends it.
"""

import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

import click
from kombu.utils.url import maybe_sanitize_url

from ..celery_app import app
from ..deadletter.store import connected_store
from ..redis_client import redis_client
from ..settings import get_settings
from ..topology import DEAD_LETTER_QUEUE, WORK_QUEUE
from .steps import Tour
from .stubs import Stubs
from .timeline import Timeline
from .workers import TourWorker, free_port, wait_until_ready


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the tour as Ctrl-C does: through the clean-up."""
    raise SystemExit(128 + signum)
{%- if cookiecutter.broker == "rabbitmq" %}


def empty_tour_queues() -> None:
    """Delete the tour's queues, and what a previous tour may have left in them."""
    with app.connection_for_write() as connection, connection.channel() as channel:
        for name in (WORK_QUEUE, DEAD_LETTER_QUEUE):
            app.amqp.queues[name].bind(channel).delete()
{%- endif %}


def start_workers(cleanup: ExitStack, stubs: Stubs, metrics_port: int) -> TourWorker:
    """The main worker (serving metrics on `metrics_port`) and the dead-letter worker, ready."""
    workdir = Path(tempfile.mkdtemp(prefix="{{ cookiecutter.project_slug }}-tour-"))
    apis = {
        "PROFILE_API_URL": stubs.url("profile"),
        "CRM_API_URL": stubs.url("crm"),
        "PAYMENT_GATEWAY_URL": stubs.url("gateway"),
    }
    worker = TourWorker.start("worker", workdir, {**apis, "METRICS_PORT": str(metrics_port)})
    cleanup.callback(worker.stop)
    dead_letter_worker = TourWorker.start(
        "dead-letter-worker", workdir, {"METRICS_PORT": "0"}, f"--queues={DEAD_LETTER_QUEUE}"
    )
    cleanup.callback(dead_letter_worker.stop)
    wait_until_ready(worker, dead_letter_worker)
    return worker


@click.command()
@click.option("--json", "as_json", is_flag=True)
def main(as_json: bool) -> None:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    # Ctrl-C raises KeyboardInterrupt even where a shell started the tour with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    timeline = Timeline(quiet=as_json)
    settings = get_settings()
    store_url = settings.dead_letter_redis_url.get_secret_value()
    look_in_store = f"DEAD_LETTER_REDIS_URL={maybe_sanitize_url(store_url)} python -m {{ cookiecutter.package_name }}"
    timeline.say(
        f"the tour's own corner: Redis {maybe_sanitize_url(store_url)} (emptied now), "
        f"queues {WORK_QUEUE} and {DEAD_LETTER_QUEUE}"
    )
    with ExitStack() as cleanup:
        cleanup.callback(timeline.say, "stopped the workers and the stub APIs")
        redis_client(settings.dead_letter_redis_url).flushdb()
{%- if cookiecutter.broker == "rabbitmq" %}
        empty_tour_queues()
        cleanup.callback(empty_tour_queues)
{%- endif %}
        stubs = Stubs()
        stubs.start()
        cleanup.callback(stubs.stop)
        metrics_port = free_port()
        started: list[TourWorker] = []

        def start() -> dict[str, str]:
            started.append(start_workers(cleanup, stubs, metrics_port))
            return {"logs": str(started[0].log_path.parent)}

        timeline.heading("Starting stub APIs, a worker and the dead-letter worker")
        timeline.play("start", start, f"ls {tempfile.gettempdir()}/{{ cookiecutter.project_slug }}-tour-*")
        if not started:
            timeline.report()
            sys.exit(1)
        worker = started[0]
        timeline.say(f"ready; the workers' logs are in {worker.log_path.parent}")
        tour = Tour(app, stubs, worker, metrics_port, connected_store(), timeline)
        for step in tour.plan(look_in_store):
            timeline.heading(step.heading)
            timeline.play(step.name, step.play, step.look_closer)
    timeline.report()
    sys.exit(0 if timeline.all_ok() else 1)


if __name__ == "__main__":
    main()
