"""`python -m {{ cookiecutter.package_name }} console`: serve the dead-letter console."""

import click

from ..settings import Settings
from .credentials import (
    TOKEN_VARIABLES,
    Credentials,
    CredentialsError,
    configured_credentials,
    local_dev_credentials,
)

LOCAL_DEV_WARNING = """\
!!! --local-dev: the console runs with made-up credentials, for a local try-out only.
!!! Never use this where anyone else can reach it; set CONSOLE_VIEWER_TOKEN and
!!! CONSOLE_OPERATOR_TOKEN instead."""


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--local-dev",
    is_flag=True,
    help="Start without the console tokens: make up the missing ones for this run and print "
    "them (loopback addresses only).",
)
def console(host: str, port: int, local_dev: bool) -> None:
    """Serve the dead-letter console: failure groups, records, replay and purge, in a browser."""
    import uvicorn

    from ..cli import load_settings
    from ..deadletter.store import connected_store

    settings = load_settings()
    credentials = console_credentials(settings, host, local_dev)
    from ..celery_app import app as celery  # replaying needs the app; the checks above don't
    from .app import create_app

    store = connected_store()
    if indexed := store.ensure_groups_indexed():
        click.echo(f"indexed the failure groups of {indexed} earlier record(s)", err=True)
    web = create_app(
        store,
        celery,
        credentials,
        max_replays=settings.dead_letter_max_replays,
        secure_cookie=settings.console_secure_cookie,
    )
    click.echo(f"console: http://{host}:{port}/", err=True)
    uvicorn.run(web, host=host, port=port, server_header=False, access_log=False)


def console_credentials(settings: Settings, host: str, local_dev: bool) -> Credentials:
    """The credentials to serve with; a missing token stops start-up unless `local_dev`."""
    try:
        if not local_dev:
            return configured_credentials(settings)
        credentials, made_up = local_dev_credentials(settings, host)
    except CredentialsError as error:
        raise click.ClickException(str(error)) from None
    click.secho(LOCAL_DEV_WARNING, fg="red", bold=True, err=True)
    for role, token in made_up.items():
        click.secho(f"!!! {role} token for this run ({TOKEN_VARIABLES[role]}): {token}", err=True)
    return credentials
