"""What the console's routes share: the store, the Celery app they replay through, the
credentials, the replay cap and the running group replays."""

from dataclasses import dataclass

from celery import Celery
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from ..deadletter.store import DeadLetterStore
from .credentials import Credentials
from .jobs import ReplayBoard


@dataclass(frozen=True)
class Console:
    """Kept in `app.state.console`."""

    store: DeadLetterStore
    celery: Celery
    credentials: Credentials
    max_replays: int
    board: ReplayBoard
    templates: Jinja2Templates


def console(request: Request) -> Console:
    shared = request.app.state.console
    assert isinstance(shared, Console)  # noqa: S101 - create_app puts it there
    return shared
