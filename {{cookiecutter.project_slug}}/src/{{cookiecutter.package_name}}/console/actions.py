"""The console's actions: sign in and out, replay, purge, cancel. POST only; `app.guarded`
checks the session, its CSRF token and the operator role before any of these runs. Replays go
through the same code as `dlq replay` (deadletter/replay.py, deadletter/bulk.py)."""

import logging

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..deadletter.bulk import BulkOptions, Tally, audit_entry
from ..deadletter.replay import replay
from ..deadletter.store import Query
from .pages import render
from .sessions import check_csrf, signed_in_role, start_session
from .state import console

# SQS redrives at up to 500 messages a second; a console replay goes no faster.
MAX_RATE = 500.0

logger = logging.getLogger(__name__)


def see(path: str) -> Response:
    """After a POST, the page to look at (303: the browser GETs it)."""
    return RedirectResponse(path, status_code=303)


async def sign_in(request: Request) -> Response:
    await check_csrf(request)
    token = (await request.form()).get("token")
    granted = console(request).credentials.role_of(token if isinstance(token, str) else "")
    if granted is None:
        logger.warning("console: a sign-in with a wrong token from %s", client_of(request))
        return render(request, "login.html", status_code=401, error="wrong token")
    start_session(request, granted)
    logger.info("console: %s signed in from %s", granted, client_of(request))
    return see("/")


async def sign_out(request: Request) -> Response:
    request.session.clear()
    return see("/login")


async def replay_record(request: Request) -> Response:
    shared = console(request)
    record = shared.store.get(request.path_params["record"])
    if record is None:
        raise HTTPException(404, "no dead letter with this id")
    # In a worker thread: a publish may wait for the broker (CELERY_PUBLISH_MAX_RETRIES).
    result = await run_in_threadpool(
        replay, shared.celery, shared.store, record, shared.max_replays
    )
    tally = Tally(selected=1)
    tally.add(result)
    entry = audit_entry({"ids": [record.id]}, BulkOptions(shared.max_replays), tally)
    shared.store.add_history({**entry, "by": f"console {signed_in_role(request)}"})
    request.session["notice"] = f"{result.outcome} {result.detail}".rstrip()
    return see(f"/records/{record.id}")


async def purge_record(request: Request) -> Response:
    record_id = request.path_params["record"]
    deleted = console(request).store.delete(record_id)
    logger.info("console: %s purged dead letter %s", signed_in_role(request), record_id)
    request.session["notice"] = "purged" if deleted else "already gone"
    return see("/")


async def replay_group(request: Request) -> Response:
    """Start replaying a group's dead records at the chosen rate; see its progress page."""
    shared = console(request)
    group = request.path_params["group"]
    rate = rate_from(str((await request.form()).get("rate", "")))
    options = BulkOptions(max_replays=shared.max_replays, rate=rate)
    started_by = signed_in_role(request)
    job = shared.board.start(group, options, started_by)
    logger.info("console: %s replays group %s at %s/s (%s)", started_by, group, rate, job.id)
    return see(f"/replays/{job.id}")


def rate_from(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise HTTPException(400, "rate must be a number of tasks per second") from None
    if not 0 < rate <= MAX_RATE:
        raise HTTPException(400, f"rate must be above 0 and at most {MAX_RATE:g} per second")
    return rate


async def purge_group(request: Request) -> Response:
    store = console(request).store
    group = request.path_params["group"]

    def purge() -> int:  # O(group size): in a worker thread, not on the event loop
        return store.delete_ids([record.id for record in store.iterate(Query(group=group))])

    deleted = await run_in_threadpool(purge)
    logger.info("console: %s purged group %s (%d records)", signed_in_role(request), group, deleted)
    request.session["notice"] = f"purged {deleted} record(s) of group {group}"
    return see("/")


async def cancel_job(request: Request) -> Response:
    job = console(request).board.get(request.path_params["job"])
    if job is None:
        raise HTTPException(404, "no such replay in this console")
    job.stop.set()
    logger.info("console: %s cancelled replay %s", signed_in_role(request), job.id)
    return see(f"/replays/{job.id}")


def client_of(request: Request) -> str:
    return request.client.host if request.client else "an unknown address"
