"""`python -m {{ cookiecutter.package_name }} dlq ...`: inspect, replay, purge and export dead letters."""

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from ..settings import get_settings
from .record import REASONS, DeadLetter, Reason
from .replay import replay
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
    """The `--task`, `--reason` and `--since` options every selecting command takes."""
    function = click.option("--since", help="ISO time, or how long ago: 30m, 12h, 7d.")(function)
    function = click.option("--reason", type=REASON_CHOICE, help="Only this reason.")(function)
    return click.option("--task", help="Only this task name.")(function)


def query(task: str | None, reason: Reason | None, since: str | None) -> Query:
    return Query(task=task, reason=reason, since=parse_since(since))


def table(records: list[DeadLetter]) -> str:
    """Records as aligned columns, under a header."""
    rows = [COLUMNS] + [
        {name: str(value) for name, value in record.to_dict().items() if name in COLUMNS}
        for record in records
    ]
    widths = {name: max(len(row[name]) for row in rows) for name in COLUMNS}
    return "\n".join(
        "  ".join(row[name].ljust(widths[name]) for name in COLUMNS).rstrip() for row in rows
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
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """The newest dead letters first."""
    page = connected_store().page(query(task, reason, since), offset, limit)
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
@click.option("--rate", type=float, help="At most this many tasks per second.")
@click.option("--force", is_flag=True, help="Ignore DEAD_LETTER_MAX_REPLAYS.")
def replay_records(
    task_ids: tuple[str, ...],
    replay_all: bool,
    task: str | None,
    reason: Reason | None,
    since: str | None,
    dry_run: bool,
    rate: float | None,
    force: bool,
) -> None:
    """Publish dead-lettered tasks again, each once, with a fresh retry budget."""
    if bool(task_ids) == replay_all:
        raise click.UsageError("give task ids, or --all (with optional filters), not both")
    from ..celery_app import app  # publishing needs the app; listing doesn't

    settings = get_settings()
    store = connected_store()
    max_replays = None if force else settings.dead_letter_max_replays
    if replay_all:
        records = [r for r in store.iterate(query(task, reason, since)) if r.status == "dead"]
    else:
        found = [store.get(task_id) for task_id in task_ids]
        missing = [
            task_id for task_id, record in zip(task_ids, found, strict=True) if record is None
        ]
        if missing:
            raise click.ClickException(f"no dead letter with id {', '.join(missing)}")
        records = [record for record in found if record is not None]
    published = 0
    with click.progressbar(records, label="replaying") as bar:
        for record in bar:
            result = replay(app, store, record, max_replays, dry_run=dry_run)
            published += result.outcome != "skipped"
            click.echo(f"{result.id}: {result.outcome} {result.detail}".rstrip())
            if rate:
                time.sleep(1 / rate)
    verb = "would publish" if dry_run else "published"
    click.echo(f"{verb} {published} of {len(records)}")


@dlq.command()
@filters
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
def purge(task: str | None, reason: Reason | None, since: str | None, yes: bool) -> None:
    """Delete dead letters matching the filters (all of them without filters)."""
    store = connected_store()
    ids = [record.id for record in store.iterate(query(task, reason, since))]
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
def export(task: str | None, reason: Reason | None, since: str | None) -> None:
    """Every matching record as JSON lines, newest first."""
    for record in connected_store().iterate(query(task, reason, since)):
        click.echo(json.dumps(record.to_dict()))


@dlq.command()
def trim() -> None:
    """Apply retention now: DEAD_LETTER_MAX_AGE_DAYS, then DEAD_LETTER_MAX_RECORDS."""
    settings = get_settings()
    trimmed = connected_store().trim(
        settings.dead_letter_max_records, timedelta(days=settings.dead_letter_max_age_days)
    )
    click.echo(f"deleted {trimmed.too_old} too old, {trimmed.over_count} over the count limit")
