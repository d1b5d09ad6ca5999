"""The console's web app: its routes, who may use each, and what every response carries.

Every page needs a signed-in session (viewer or operator); every action is a POST that needs the
operator role and the session's CSRF token. Only the sign-in page, the health probes and the
static files are public.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from pathlib import Path

from celery import Celery
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..deadletter.record import parse_time
from ..deadletter.store import DeadLetterStore
from . import actions, pages
from .credentials import Credentials, Role
from .headers import SecurityHeaders
from .jobs import ReplayBoard
from .sessions import allowed, check_csrf, role
from .state import Console

HERE = Path(__file__).parent
SERVICE_NAME = {{cookiecutter.project_name | tojson}}
SESSION_LIFETIME = timedelta(hours=8)
Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(needed: Role, endpoint: Endpoint, *, page: bool = True) -> Endpoint:
    """`endpoint` for a signed-in session of `needed` role or above; a POST also needs the
    session's CSRF token. A `page` asked for without a session redirects to the sign-in page;
    anything else gets 401."""

    async def guarded_endpoint(request: Request) -> Response:
        if role(request) is None:
            if page and request.method == "GET":
                return RedirectResponse("/login", status_code=303)
            raise HTTPException(401, "sign in first")
        if request.method == "POST":
            await check_csrf(request)
        if not allowed(request, needed):
            raise HTTPException(403, f"this needs the {needed} role")
        return await endpoint(request)

    return guarded_endpoint


def routes() -> list[BaseRoute]:
    viewer: Role = "viewer"
    operator: Role = "operator"
    post = ["POST"]
    return [
        Route("/healthz", pages.liveness),
        Route("/readyz", pages.readiness),
        Route("/login", pages.sign_in_page),
        Route("/login", actions.sign_in, methods=post),
        Route("/logout", guarded(viewer, actions.sign_out), methods=post),
        Route("/", guarded(viewer, pages.groups_page)),
        Route("/records", guarded(viewer, pages.records_page)),
        Route("/records/{record}", guarded(viewer, pages.record_page)),
        Route("/groups/{group}", guarded(viewer, pages.group_page)),
        Route("/replays", guarded(viewer, pages.replays_page)),
        Route("/replays/{job}", guarded(viewer, pages.job_page)),
        Route("/replays/{job}/status", guarded(viewer, pages.job_status, page=False)),
        Route("/records/{record}/replay", guarded(operator, actions.replay_record), methods=post),
        Route("/records/{record}/purge", guarded(operator, actions.purge_record), methods=post),
        Route("/groups/{group}/replay", guarded(operator, actions.replay_group), methods=post),
        Route("/groups/{group}/purge", guarded(operator, actions.purge_group), methods=post),
        Route("/replays/{job}/cancel", guarded(operator, actions.cancel_job), methods=post),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def templates() -> Jinja2Templates:
    """The pages' templates (copied into the service unrendered by cookiecutter: they are the
    console's own Jinja), autoescaped."""
    pages_templates = Jinja2Templates(directory=HERE / "templates")
    pages_templates.env.globals["service"] = SERVICE_NAME
    pages_templates.env.filters["when"] = when
    return pages_templates


def when(timestamp: str) -> str:
    """A record's ISO 8601 UTC time, to the second, for people: `2026-01-31 09:15:02 UTC`."""
    return f"{parse_time(timestamp).astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def create_app(
    store: DeadLetterStore,
    celery: Celery,
    credentials: Credentials,
    *,
    max_replays: int,
    secure_cookie: bool,
) -> Starlette:
    """The console over `store`, replaying through `celery`'s broker."""
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=credentials.session_key,
                session_cookie="console_session",
                max_age=int(SESSION_LIFETIME.total_seconds()),
                same_site="strict",
                https_only=secure_cookie,
            ),
        ],
    )
    app.state.console = Console(
        store=store,
        celery=celery,
        credentials=credentials,
        max_replays=max_replays,
        board=ReplayBoard(celery, store),
        templates=templates(),
    )
    return app
