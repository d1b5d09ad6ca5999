"""The dead-letter console in tests: the app over a store, and a signed-in client per role."""

import re

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.testclient import TestClient

from {{ cookiecutter.package_name }}.celery_app import app as celery
from {{ cookiecutter.package_name }}.console.app import create_app
from {{ cookiecutter.package_name }}.console.credentials import Credentials
from {{ cookiecutter.package_name }}.deadletter.store import DeadLetterStore

VIEWER_TOKEN = "viewer-token-for-the-tests"
OPERATOR_TOKEN = "operator-token-for-the-tests"
CREDENTIALS = Credentials.from_tokens(SecretStr(VIEWER_TOKEN), SecretStr(OPERATOR_TOKEN))
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def console_app(store: DeadLetterStore, max_replays: int = 3) -> Starlette:
    return create_app(store, celery, CREDENTIALS, max_replays=max_replays, secure_cookie=False)


def csrf_in(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF_FIELD.search(html)
    assert found, f"no CSRF field in:\n{html}"
    return found.group(1)


def signed_in(app: Starlette, token: str) -> tuple[TestClient, str]:
    """A client signed in with `token`, and its session's CSRF token."""
    client = TestClient(app, follow_redirects=False)
    csrf = csrf_in(client.get("/login").text)
    response = client.post("/login", data={"csrf": csrf, "token": token})
    assert response.status_code == 303, response.text
    return client, csrf_in(client.get("/").text)
