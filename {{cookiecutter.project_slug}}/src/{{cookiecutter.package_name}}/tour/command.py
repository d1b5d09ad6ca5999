"""The `tour` command: settle where the tour may write, then hand over to the runner (run.py).

The runner is a fresh interpreter so that everything it imports, the queue names among them, is
configured for the tour from the start; `exec` keeps one process, so Ctrl-C reaches the runner.
"""

import os
import sys

import click

from ..settings import SettingsError, get_settings
from .isolation import SharedStoreError, tour_environment


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print each step's outcome as JSON.")
@click.option(
    "--redis-url",
    envvar="TOUR_REDIS_URL",
    help="A Redis database for the tour alone; it is emptied. [default: database 15 on "
    "DEAD_LETTER_REDIS_URL's server]",
)
def tour(as_json: bool, redis_url: str | None) -> None:
    """Watch the retry guide happen on the example tasks, in about a minute.

    Starts stub APIs, a worker and the dead-letter worker, plays six failure scenarios and stops
    everything again. Exits non-zero if any step's expected outcome did not happen.
    """
    try:
        environment = tour_environment(get_settings(), redis_url)
    except (SettingsError, SharedStoreError) as error:
        raise click.ClickException(str(error)) from None
    runner = [sys.executable, "-m", f"{__package__}.run", *(["--json"] if as_json else [])]
    os.execve(sys.executable, runner, {**os.environ, **environment})  # noqa: S606 - this interpreter
