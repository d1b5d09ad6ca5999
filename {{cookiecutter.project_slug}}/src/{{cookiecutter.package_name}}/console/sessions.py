"""The signed-in session: its role, and the CSRF token every form posts back.

A session lives in a signed cookie (Starlette's `SessionMiddleware`, SameSite=strict). Each
session gets a random CSRF token, renewed at sign-in; every POST must carry it in the `csrf` form
field, compared in constant time, or it is refused before anything else happens.
"""

import hmac
import secrets

from starlette.exceptions import HTTPException
from starlette.requests import Request

from .credentials import Role

CSRF_FIELD = "csrf"
ROLE_RANKS: dict[Role, int] = {"viewer": 1, "operator": 2}


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse (403) a POST whose form lacks this session's CSRF token."""
    expected = request.session.get(CSRF_FIELD)
    sent = (await request.form()).get(CSRF_FIELD)
    if not (
        isinstance(expected, str)
        and isinstance(sent, str)
        and hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


def start_session(request: Request, role: Role) -> None:
    """Start a fresh session for `role`, with a new CSRF token."""
    request.session.clear()
    request.session["role"] = role
    csrf_token(request)


def role(request: Request) -> Role | None:
    found = request.session.get("role")
    return found if found in ROLE_RANKS else None


def signed_in_role(request: Request) -> Role:
    """The role of a session the guard let through (401 should one get here without)."""
    found = role(request)
    if found is None:
        raise HTTPException(401, "sign in first")
    return found


def allowed(request: Request, needed: Role) -> bool:
    granted = role(request)
    return granted is not None and ROLE_RANKS[granted] >= ROLE_RANKS[needed]
