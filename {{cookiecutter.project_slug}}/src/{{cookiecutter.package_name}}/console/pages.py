"""The console's pages (GET only, nothing changes state): failure groups, records, one record,
replays, and the health probes. Each page reads one page of the store's indexes: O(page)."""

from typing import Any

import redis
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from ..deadletter.groups import Group, group_id
from ..deadletter.record import REASONS, DeadLetter, Reason
from ..deadletter.store import PAGE_SIZE, Query
from .sessions import csrf_token, role
from .state import console

# Audit entries a record's page looks through for the replays that took it.
AUDIT_ENTRIES_READ = 200
HISTORY_SHOWN = 100
REASONS_BY_NAME: dict[str, Reason] = {reason: reason for reason in REASONS}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """`template` with what every page shows: the role, the CSRF token for its forms, and the
    notice the last action left."""
    notice = request.session.pop("notice", None)
    return console(request).templates.TemplateResponse(
        request,
        template,
        {"role": role(request), "csrf": csrf_token(request), "notice": notice, **context},
        status_code=status_code,
    )


def page_number(request: Request) -> int:
    try:
        number = int(request.query_params.get("page", "1"))
    except ValueError:
        raise HTTPException(400, "page must be a number") from None
    if number < 1:
        raise HTTPException(400, "page must be 1 or more")
    return number


def paged(items: list[Any]) -> tuple[list[Any], bool]:
    """A page read with one item more than it shows, and whether a next page exists."""
    return items[:PAGE_SIZE], len(items) > PAGE_SIZE


async def liveness(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readiness(request: Request) -> Response:
    """Ready when the store answers."""
    try:
        console(request).store.group_count()
    except redis.RedisError as error:
        return PlainTextResponse(f"store unreachable: {error}", status_code=503)
    return PlainTextResponse("ok")


async def sign_in_page(request: Request) -> Response:
    return render(request, "login.html")


async def groups_page(request: Request) -> Response:
    """The failure groups, largest first."""
    number = page_number(request)
    store = console(request).store
    groups, more = paged(store.groups((number - 1) * PAGE_SIZE, PAGE_SIZE + 1))
    return render(
        request,
        "groups.html",
        groups=groups,
        page=number,
        more=more,
        group_total=store.group_count(),
        counts=store.counts(),
    )


async def records_page(request: Request) -> Response:
    """Records, newest first, filtered by task and reason (both answered by the indexes)."""
    task = request.query_params.get("task") or None
    named = request.query_params.get("reason") or None
    reason = REASONS_BY_NAME.get(named) if named else None
    if named and reason is None:
        raise HTTPException(400, f"reason must be one of {', '.join(REASONS)}")
    return records_listing(request, Query(task=task, reason=reason), group=None)


async def group_page(request: Request) -> Response:
    """One failure group and its records, newest first."""
    group = console(request).store.group(request.path_params["group"])
    if group is None:
        raise HTTPException(404, "no such failure group (purged, or all its records trimmed)")
    return records_listing(request, Query(group=group.id), group=group)


def records_listing(request: Request, query: Query, group: Group | None) -> Response:
    number = page_number(request)
    found = console(request).store.page(query, (number - 1) * PAGE_SIZE, PAGE_SIZE + 1)
    records, more = paged(found)
    return render(
        request,
        "records.html",
        records=records,
        query=query,
        group=group,
        reasons=REASONS,
        page=number,
        more=more,
    )


async def record_page(request: Request) -> Response:
    """One record: why it failed, its traceback, and its history."""
    record = console(request).store.get(request.path_params["record"])
    if record is None:
        raise HTTPException(404, "no dead letter with this id (replayed and purged, or trimmed)")
    return render(
        request,
        "record.html",
        record=record,
        shown=record.to_dict(),
        group_id=group_id(record),
        audit=audit_of(request, record),
    )


def audit_of(request: Request, record: DeadLetter) -> list[dict[str, Any]]:
    """The recent bulk and single replays whose selection took `record`."""
    group = group_id(record)
    return [
        entry
        for entry in console(request).store.history(AUDIT_ENTRIES_READ)
        if record.id in entry["selection"].get("ids", ())
        or entry["selection"].get("group") == group
    ]


async def replays_page(request: Request) -> Response:
    """Replays running in this console, and the audit trail of every bulk replay."""
    return render(
        request,
        "replays.html",
        running=console(request).board.running(),
        history=console(request).store.history(HISTORY_SHOWN),
    )


async def job_page(request: Request) -> Response:
    job = console(request).board.get(request.path_params["job"])
    if job is None:
        raise HTTPException(404, "no such replay in this console (it was restarted)")
    return render(request, "job.html", job=job, status=job.status())


async def job_status(request: Request) -> Response:
    """A group replay's progress, as JSON, for the job page's poll."""
    job = console(request).board.get(request.path_params["job"])
    if job is None:
        raise HTTPException(404, "no such replay in this console")
    return JSONResponse(job.status())
