"""`python -m {{ cookiecutter.package_name }} dlq ...`: inspect, replay, purge and export dead letters."""

import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from ..settings import get_settings
from ..topology import DEAD_LETTER_QUEUE
from .bulk import BulkOptions, Tally, audit_entry, replay_many, stop_requests
from .groups import group_records
from .record import REASONS, DeadLetter, Reason
from .replay import Replayed
from .store import PAGE_SIZE, Query, connected_store

REASON_CHOICE = click.Choice(REASONS)
COLUMNS = {
    "id": "ID",
    "task": "TASK",
    "reason": "REASON",
    "retries": "RETRIES",
    "replays": "REPLAYS",
    "last_failed_at": "LAST FAILED",
}


GROUP_COLUMNS = {
    "id": "GROUP",
    "count": "COUNT",
    "task": "TASK",
    "reason": "REASON",
    "exception_type": "EXCEPTION",
    "first_failed_at": "FIRST FAILED",
    "last_failed_at": "LAST FAILED",
    "sample_id": "SAMPLE",
    "message": "MESSAGE",
}


def parse_since(value: str | None) -> datetime | None:
    """An ISO 8601 time, or a duration back from now: `30m`, `12h`, `7d`."""
    if value is None:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither an ISO time nor like 30m, 12h, 7d"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def filters(function: Any) -> Any:
    """The options every selecting command takes: `--task`, `--reason`, `--since`, `--group`
    and `--exception`."""
    function = click.option(
        "--exception", help="Only this exception type (dotted name, or class name)."
    )(function)
    function = click.option("--group", help="Only this failure group (an id from `dlq groups`).")(
        function
    )
    function = click.option("--since", help="ISO time, or how long ago: 30m, 12h, 7d.")(function)
    function = click.option("--reason", type=REASON_CHOICE, help="Only this reason.")(function)
    return click.option("--task", help="Only this task name.")(function)


def query(
    task: str | None,
    reason: Reason | None,
    since: str | None,
    group: str | None = None,
    exception: str | None = None,
) -> Query:
    return Query(
        task=task, reason=reason, since=parse_since(since), group=group, exception=exception
    )


def table(records: list[DeadLetter]) -> str:
    """Records as aligned columns, under a header."""
    return columns([record.to_dict() for record in records], COLUMNS)


def columns(items: list[dict[str, Any]], headers: dict[str, str]) -> str:
    """The `headers` fields of `items` as aligned columns, under a header."""
    rows = [headers] + [{name: str(item[name]) for name in headers} for item in items]
    widths = {name: max(len(row[name]) for row in rows) for name in headers}
    return "\n".join(
        "  ".join(row[name].ljust(widths[name]) for name in headers).rstrip() for row in rows
    )


@click.group()
def dlq() -> None:
    """Dead letters: tasks that failed for good, kept for inspection and replay."""


@dlq.command("list")
@filters
@click.option("--limit", default=PAGE_SIZE, show_default=True, help="Records per page.")
@click.option("--offset", default=0, help="Records to skip (newest first).")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for tools.")
def list_records(
    task: str | None,
    reason: Reason | None,
    since: str | None,
    group: str | None,
    exception: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """The newest dead letters first."""
    page = connected_store().page(query(task, reason, since, group, exception), offset, limit)
    if as_json:
        click.echo(json.dumps([record.to_dict() for record in page], indent=2))
        return
    click.echo(table(page))


@dlq.command()
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="The record as JSON.")
def show(task_id: str, as_json: bool) -> None:
    """One dead letter, in full."""
    record = connected_store().get(task_id)
    if record is None:
        raise click.ClickException(f"no dead letter with id {task_id}")
    if as_json:
        click.echo(json.dumps(record.to_dict(), indent=2))
        return
    for name, value in record.to_dict().items():
        click.echo(f"{name}: {value}")


@dlq.command("replay")
@click.argument("task_ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Every record matching the filters.")
@filters
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; publish nothing.")
@click.option(
    "--rate", type=click.FloatRange(min=0, min_open=True), help="At most this many per second."
)
@click.option("--queue", help="Publish to this declared queue instead of each record's own.")
@click.option("--force", is_flag=True, help="Ignore DEAD_LETTER_MAX_REPLAYS.")
def replay_records(
    task_ids: tuple[str, ...],
    replay_all: bool,
    task: str | None,
    reason: Reason | None,
    since: str | None,
    group: str | None,
    exception: str | None,
    dry_run: bool,
    rate: float | None,
    queue: str | None,
    force: bool,
) -> None:
    """Publish dead-lettered tasks again, each once, with a fresh retry budget and their original
    arguments. Ctrl-C or SIGTERM stops after the record in hand; run it again to finish."""
    if bool(task_ids) == replay_all:
        raise click.UsageError("give task ids, or --all (with optional filters), not both")
    from ..celery_app import app  # publishing needs the app; listing doesn't

    store = connected_store()
    if queue is not None:
        check_queue(queue, app.amqp.queues)
    if replay_all:
        selected = query(task, reason, since, group, exception)
        records = [record for record in store.iterate(selected) if record.status == "dead"]
    else:
        records = records_by_id(task_ids)
    options = BulkOptions(
        max_replays=None if force else get_settings().dead_letter_max_replays,
        rate=rate,
        queue=queue,
        dry_run=dry_run,
    )
    tally = Tally(selected=len(records))
    with stop_requests() as stop, click.progressbar(length=len(records), label="replaying") as bar:

        def report(result: Replayed) -> None:
            bar.update(1)
            click.echo(f" {result.id}: {result.outcome} {result.detail}".rstrip())

        replay_many(app, store, records, options, tally, stop, report)
    selection = {"ids": list(task_ids), "task": task, "reason": reason, "since": since}
    store.add_history(
        audit_entry({**selection, "group": group, "exception": exception}, options, tally)
    )
    verb = "would publish" if dry_run else "published"
    click.echo(
        f"{verb} {tally.published} of {tally.selected}; skipped {tally.skipped}; "
        f"refused {tally.refused}"
    )
    if tally.interrupted:
        raise click.ClickException(
            "interrupted: the records not replayed are still dead; run the same command again "
            "to replay the rest"
        )


def check_queue(queue: str, declared: Iterable[str]) -> None:
    """Refuse a queue this service doesn't declare, or the dead-letter queue."""
    allowed = sorted(name for name in declared if name != DEAD_LETTER_QUEUE)
    if queue not in allowed:
        raise click.BadParameter(
            f"{queue!r} is not a work queue of this service; choose from {', '.join(allowed)}",
            param_hint="--queue",
        )


def records_by_id(task_ids: tuple[str, ...]) -> list[DeadLetter]:
    store = connected_store()
    found = [store.get(task_id) for task_id in task_ids]
    missing = [task_id for task_id, record in zip(task_ids, found, strict=True) if record is None]
    if missing:
        raise click.ClickException(f"no dead letter with id {', '.join(missing)}")
    return [record for record in found if record is not None]


@dlq.command()
@click.option("--limit", default=20, show_default=True, help="Entries, newest first.")
@click.option("--json", "as_json", is_flag=True, help="The entries as JSON.")
def history(limit: int, as_json: bool) -> None:
    """The audit trail of replays: when, by whom, what was selected, and what happened."""
    entries = connected_store().history(limit)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for entry in entries:
        click.echo(
            f"{entry['at']} {entry['by']}: {json.dumps(entry['selection'])} "
            f"queue={entry['queue'] or 'own'} rate={entry['rate'] or 'max'}"
            f"{' dry-run' if entry['dry_run'] else ''}: published {entry['published']} of "
            f"{entry['selected']}, skipped {entry['skipped']}, refused {entry['refused']}"
            f"{', interrupted' if entry['interrupted'] else ''}"
        )


@dlq.command()
@filters
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
def purge(
    task: str | None,
    reason: Reason | None,
    since: str | None,
    group: str | None,
    exception: str | None,
    yes: bool,
) -> None:
    """Delete dead letters matching the filters (all of them without filters)."""
    store = connected_store()
    ids = [record.id for record in store.iterate(query(task, reason, since, group, exception))]
    if not ids:
        click.echo("nothing to purge")
        return
    if not yes:
        click.confirm(f"delete {len(ids)} dead letter(s)?", abort=True)
    click.echo(f"deleted {store.delete_ids(ids)}")


@dlq.command()
@click.option("--json", "as_json", is_flag=True, help="Counts as JSON.")
def stats(as_json: bool) -> None:
    """How many dead letters there are, per reason and per task."""
    counts = connected_store().counts()
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    click.echo(f"records: {counts['total']['records']}")
    for group in ("by_reason", "by_task"):
        for name, count in counts[group].items():
            click.echo(f"  {group.removeprefix('by_')} {name}: {count}")


@dlq.command()
@filters
@click.option("--json", "as_json", is_flag=True, help="The groups as JSON.")
def groups(
    task: str | None,
    reason: Reason | None,
    since: str | None,
    group: str | None,
    exception: str | None,
    as_json: bool,
) -> None:
    """Dead letters that failed the same way (task, reason, exception, message with ids and
    numbers stripped), largest group first. Pass a group's id to other commands' --group."""
    found = group_records(connected_store().iterate(query(task, reason, since, group, exception)))
    if as_json:
        click.echo(json.dumps([asdict(found_group) for found_group in found], indent=2))
        return
    click.echo(columns([asdict(found_group) for found_group in found], GROUP_COLUMNS))


@dlq.command()
@filters
def export(
    task: str | None,
    reason: Reason | None,
    since: str | None,
    group: str | None,
    exception: str | None,
) -> None:
    """Every matching record as JSON lines, newest first."""
    for record in connected_store().iterate(query(task, reason, since, group, exception)):
        click.echo(json.dumps(record.to_dict()))


@dlq.command()
def trim() -> None:
    """Apply retention now: DEAD_LETTER_MAX_AGE_DAYS, then DEAD_LETTER_MAX_RECORDS."""
    settings = get_settings()
    trimmed = connected_store().trim(
        settings.dead_letter_max_records, timedelta(days=settings.dead_letter_max_age_days)
    )
    click.echo(f"deleted {trimmed.too_old} too old, {trimmed.over_count} over the count limit")
