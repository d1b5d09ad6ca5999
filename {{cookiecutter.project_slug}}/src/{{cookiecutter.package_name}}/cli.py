"""The service's command line: `python -m {{ cookiecutter.package_name }} --help`."""

import click

{% if cookiecutter.dead_letter_console == "yes" -%}
from .console.command import console
{% endif -%}
from .deadletter.commands import dlq
from .env_lines import env_lines
from .settings import Settings, SettingsError, get_settings
from .template_release import TEMPLATE_VERSION
{%- if cookiecutter.examples == "yes" %}
from .tour import tour
{%- endif %}


def load_settings() -> Settings:
    """The settings, or a one-line-per-problem error instead of a traceback."""
    try:
        return get_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@click.group()
@click.version_option(
    package_name="{{ cookiecutter.project_slug }}",
    message=f"%(prog)s %(version)s, from template release {TEMPLATE_VERSION}",
)
def main() -> None:
    """Operate the {{ cookiecutter.project_name }} worker service."""


main.add_command(dlq)
{%- if cookiecutter.examples == "yes" %}
main.add_command(tour)
{%- endif %}
{%- if cookiecutter.dead_letter_console == "yes" %}
main.add_command(console)
{%- endif %}


@main.group()
def config() -> None:
    """Inspect the configuration read from the environment and `.env`."""


@config.command("show")
def config_show() -> None:
    """Print every setting as a `.env` line, secrets masked."""
    settings = load_settings()
    click.echo(f"# template release {TEMPLATE_VERSION}")
    for line in env_lines(settings):
        click.echo(line)


@main.group()
def policies() -> None:
    """Inspect the retry policy of every registered task."""


@policies.command("show")
def policies_show() -> None:
    """Print each task's tier, the wait before each retry, and the worst case to dead-letter."""
    load_settings()
    from .celery_app import app
    from .policies import application_tasks, schedule

    for task in application_tasks(app):
        click.echo("\n".join(schedule(task)))


@policies.command("check")
def policies_check() -> None:
    """Fail, naming task and rule, if any task breaks a rule of the retry guide."""
    load_settings()
    from .celery_app import app
    from .policies import check

    found = check(app)
    for violation in found:
        click.echo(str(violation), err=True)
    if found:
        raise click.ClickException(f"{len(found)} retry policy problem(s)")
    click.echo("every task's retry policy is safe")


@main.group()
def topology() -> None:
    """Inspect the exchanges and queues this service uses."""


@topology.command("show")
def topology_show() -> None:
    """Print each queue with its exchange, routing key and arguments."""
    load_settings()
    from .celery_app import app  # The app is imported only by the commands that need it.

    for queue in app.amqp.queues.values():
        exchange = queue.exchange
        click.echo(
            f"{queue.name}: exchange={exchange.name} ({exchange.type}) "
            f"routing_key={queue.routing_key} arguments={queue.queue_arguments or {}}"
        )
{%- if cookiecutter.broker == "rabbitmq" %}


@topology.command("declare")
def topology_declare() -> None:
    """Declare the exchanges and queues on the broker (a worker also does this as it starts)."""
    load_settings()
    from .celery_app import app
    from .topology import TopologyConflictError, declare

    with app.connection_for_write() as connection:
        try:
            declare(connection, tuple(app.amqp.queues.values()))
        except TopologyConflictError as conflict:
            raise click.ClickException(str(conflict)) from None
    click.echo(f"declared {', '.join(app.amqp.queues)}")
{%- endif %}


@main.group()
def health() -> None:
    """Probe this worker as Kubernetes and Docker do, from the files in HEALTH_DIR.

    The deployment files run `python -m {{ cookiecutter.package_name }}.health` instead: the same checks, without
    loading the settings, so each probe costs a fraction of the CPU.
    """


@health.command("liveness")
def health_liveness() -> None:
    """Succeed if the worker's heartbeat is fresh: it is neither hung nor gone."""
    from .health import liveness

    settings = load_settings()
    problem = liveness(settings.health_dir, settings.health_heartbeat_max_age)
    if problem:
        raise click.ClickException(problem)
    click.echo("liveness: ok")


@health.command("readiness")
def health_readiness() -> None:
    """Succeed if the worker is consuming and not shutting down."""
    from .health import readiness

    problem = readiness(load_settings().health_dir)
    if problem:
        raise click.ClickException(problem)
    click.echo("readiness: ok")
