"""The dead-letter console lets nobody in without a token, lets viewers only look, refuses every
POST without the session's CSRF token, shows arguments only redacted, and sends its security
headers on every response. Over a real Redis store, under a key prefix of the test's own."""

import json
import uuid

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.testclient import TestClient

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.console.credentials import (
    Credentials,
    CredentialsError,
    configured_credentials,
    local_dev_credentials,
)
from {{ cookiecutter.package_name }}.deadletter.groups import group_id, group_records
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter, failure_record
from {{ cookiecutter.package_name }}.deadletter.store import Query, RedisDeadLetterStore
from {{ cookiecutter.package_name }}.settings import Settings, SettingsError, get_settings

from ..console_client import (
    OPERATOR_TOKEN,
    VIEWER_TOKEN,
    console_app,
    csrf_in,
    signed_in,
)
from ..records import a_dead_letter

SECRET_ARGUMENT = "k-live-4242"
TOKENS = {"CONSOLE_VIEWER_TOKEN": VIEWER_TOKEN, "CONSOLE_OPERATOR_TOKEN": OPERATOR_TOKEN}


@pytest.fixture
def store(private_store: RedisDeadLetterStore) -> RedisDeadLetterStore:
    """The console's store: a private one, so no test sees another's records."""
    return private_store


@pytest.fixture
def secret_record(store: RedisDeadLetterStore, monkeypatch: pytest.MonkeyPatch) -> DeadLetter:
    """A stored record of a call with a secret keyword argument, sealed and redacted."""
    monkeypatch.setenv("DEAD_LETTER_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    get_settings.cache_clear()
    record = failure_record(
        task_id=str(uuid.uuid4()),
        task="svc.tasks.charge",
        args=[17],
        kwargs={"api_key": SECRET_ARGUMENT, "amount": 5},
        reason="non_retryable",
        error=PermissionError("card 4 declined"),
        traceback="Traceback (most recent call last):\n  PermissionError: card 4 declined",
        retries=0,
        queue="default",
        hostname="worker-1",
    )
    return store.save(record)


@pytest.fixture
def app(store: RedisDeadLetterStore) -> Starlette:
    return console_app(store)


def test_nobody_gets_anything_without_signing_in(
    app: Starlette, store: RedisDeadLetterStore, secret_record: DeadLetter
) -> None:
    anonymous = TestClient(app, follow_redirects=False)
    for page in (
        "/",
        "/records",
        f"/records/{secret_record.id}",
        f"/groups/{group_id(secret_record)}",
    ):
        response = anonymous.get(page)
        assert (response.status_code, response.headers["location"]) == (303, "/login")
        assert secret_record.id not in response.text
    assert anonymous.get("/replays/any/status").status_code == 401
    csrf = csrf_in(anonymous.get("/login").text)  # even with the sign-in page's CSRF token
    for action in ("replay", "purge"):
        response = anonymous.post(f"/records/{secret_record.id}/{action}", data={"csrf": csrf})
        assert response.status_code == 401
    assert store.get(secret_record.id) == secret_record


def test_a_wrong_token_signs_nobody_in(app: Starlette) -> None:
    client = TestClient(app, follow_redirects=False)
    csrf = csrf_in(client.get("/login").text)
    response = client.post("/login", data={"csrf": csrf, "token": VIEWER_TOKEN + "x"})
    assert response.status_code == 401
    assert "wrong token" in response.text
    assert client.get("/").status_code == 303


def test_a_viewer_sees_groups_and_records_with_arguments_redacted(
    app: Starlette, secret_record: DeadLetter
) -> None:
    viewer, _ = signed_in(app, VIEWER_TOKEN)
    group = group_id(secret_record)
    pages = [
        viewer.get("/"),
        viewer.get(f"/groups/{group}"),
        viewer.get("/records?reason=non_retryable"),
        viewer.get(f"/records/{secret_record.id}"),
    ]
    assert [page.status_code for page in pages] == [200] * 4
    assert group in pages[0].text
    assert "card &lt;n&gt; declined" in pages[0].text  # the group's message, numbers stripped
    for page in pages[1:]:
        assert secret_record.id in page.text
    record_page = pages[3].text
    assert "PermissionError: card 4 declined" in record_page  # the traceback
    for page in pages:
        assert SECRET_ARGUMENT not in page.text
        assert secret_record.sealed_arguments not in page.text
    assert "[redacted]" in record_page
    assert 'action="/records/' not in record_page  # no replay or purge form for a viewer


def test_a_viewer_cannot_replay_purge_or_cancel(
    app: Starlette, store: RedisDeadLetterStore, secret_record: DeadLetter
) -> None:
    viewer, csrf = signed_in(app, VIEWER_TOKEN)
    group = group_id(secret_record)
    for action in (
        f"/records/{secret_record.id}/replay",
        f"/records/{secret_record.id}/purge",
        f"/groups/{group}/replay",
        f"/groups/{group}/purge",
        "/replays/any/cancel",
    ):
        response = viewer.post(action, data={"csrf": csrf, "rate": "5"})
        assert response.status_code == 403, action
        assert "needs the operator role" in response.text
    assert store.get(secret_record.id) == secret_record


def test_every_post_without_the_sessions_csrf_token_is_refused(
    app: Starlette, store: RedisDeadLetterStore, secret_record: DeadLetter
) -> None:
    operator, csrf = signed_in(app, OPERATOR_TOKEN)
    _, other_sessions_csrf = signed_in(app, OPERATOR_TOKEN)
    purge = f"/records/{secret_record.id}/purge"
    for form in ({}, {"csrf": ""}, {"csrf": csrf[:-1]}, {"csrf": other_sessions_csrf}):
        response = operator.post(purge, data=form)
        assert response.status_code == 403, form
        assert "CSRF" in response.text
    assert store.get(secret_record.id) == secret_record
    assert operator.post(purge, data={"csrf": csrf}).status_code == 303
    assert store.get(secret_record.id) is None


def test_signing_in_renews_the_csrf_token(app: Starlette) -> None:
    client = TestClient(app, follow_redirects=False)
    before = csrf_in(client.get("/login").text)
    client.post("/login", data={"csrf": before, "token": VIEWER_TOKEN})
    assert csrf_in(client.get("/").text) != before


def test_no_get_changes_anything(
    app: Starlette, store: RedisDeadLetterStore, secret_record: DeadLetter
) -> None:
    operator, _ = signed_in(app, OPERATOR_TOKEN)
    for action in ("replay", "purge"):
        assert operator.get(f"/records/{secret_record.id}/{action}").status_code == 405
    assert operator.get("/logout").status_code == 405
    assert store.get(secret_record.id) == secret_record


def test_an_operator_replays_one_record_through_the_replay_code(
    app: Starlette, store: RedisDeadLetterStore
) -> None:
    malformed = store.save(a_dead_letter(id=str(uuid.uuid4()), reason="malformed"))
    operator, csrf = signed_in(app, OPERATOR_TOKEN)
    response = operator.post(f"/records/{malformed.id}/replay", data={"csrf": csrf})
    assert (response.status_code, response.headers["location"]) == (303, f"/records/{malformed.id}")
    page = operator.get(f"/records/{malformed.id}").text
    assert "skipped a malformed message has no task to run" in page
    (entry,) = store.history(1)
    assert (entry["by"], entry["selection"], entry["skipped"]) == (
        "console operator",
        {"ids": [malformed.id]},
        1,
    )


def test_an_operator_purges_exactly_one_group(app: Starlette, store: RedisDeadLetterStore) -> None:
    records = [
        store.save(a_dead_letter(id=f"{kind}-{n}", exception_type=f"builtins.{kind}"))
        for kind in ("LookupError", "ValueError")
        for n in range(3)
    ]
    operator, csrf = signed_in(app, OPERATOR_TOKEN)
    doomed = group_id(records[0])
    assert operator.post(f"/groups/{doomed}/purge", data={"csrf": csrf}).status_code == 303
    left = sorted(record.id for record in store.iterate(Query()))
    assert left == [f"ValueError-{n}" for n in range(3)]
    assert [group.id for group in store.groups()] == [group_id(records[3])]


def test_a_group_replay_refuses_a_rate_out_of_bounds(app: Starlette) -> None:
    operator, csrf = signed_in(app, OPERATOR_TOKEN)
    for rate in ("0", "-1", "501", "fast"):
        response = operator.post("/groups/any/replay", data={"csrf": csrf, "rate": rate})
        assert response.status_code == 400, rate


def test_the_groups_page_shows_the_groups_dlq_groups_finds(
    app: Starlette, store: RedisDeadLetterStore
) -> None:
    kinds = ["LookupError"] * 3 + ["ValueError"] * 2 + ["KeyError"]
    for n, kind in enumerate(kinds):
        failed_at = f"2026-01-01T10:0{n}:00+00:00"
        store.save(
            a_dead_letter(
                id=f"r-{n}",
                exception_type=f"builtins.{kind}",
                first_failed_at=failed_at,
                last_failed_at=failed_at,
            )
        )
    viewer, _ = signed_in(app, VIEWER_TOKEN)
    page = viewer.get("/").text
    for group in group_records(store.iterate(Query())):
        assert f'<tr data-group="{group.id}">' in page
        assert f'<td class="number">{group.count}</td>' in page
    assert store.groups() == group_records(store.iterate(Query()))


def test_records_an_earlier_version_wrote_are_grouped_when_the_console_starts(
    store: RedisDeadLetterStore,
) -> None:
    earlier = [a_dead_letter(id=f"old-{n}", exception_type="builtins.KeyError") for n in range(3)]
    with store.client.pipeline() as pipe:  # as a store without group indexes wrote them
        for record in earlier:
            pipe.set(store.key("record", record.id), json.dumps(record.to_storage()))
            pipe.zadd(store.key("index", "all"), {record.id: 1})
        pipe.execute()
    store.save(a_dead_letter(id="new-1"))
    assert store.ungrouped() == 3
    assert store.ensure_groups_indexed() == 4
    assert store.ungrouped() == 0
    assert store.ensure_groups_indexed() == 0
    assert store.groups() == group_records(store.iterate(Query()))


def test_every_response_carries_the_security_headers(
    app: Starlette, secret_record: DeadLetter
) -> None:
    viewer, _ = signed_in(app, VIEWER_TOKEN)
    anonymous = TestClient(app, follow_redirects=False)
    responses = {
        "page": viewer.get(f"/records/{secret_record.id}"),
        "missing": viewer.get("/records/no-such-id"),
        "redirect": anonymous.get("/"),
        "refused": anonymous.get("/replays/any/status"),
        "sign-in": anonymous.get("/login"),
        "static": anonymous.get("/static/console.css"),
    }
    assert responses["missing"].status_code == 404
    for name, response in responses.items():
        headers = response.headers
        assert headers["content-security-policy"].startswith("default-src 'self';"), name
        assert "frame-ancestors 'none'" in headers["content-security-policy"], name
        assert "unsafe-inline" not in headers["content-security-policy"], name
        assert headers["x-frame-options"] == "DENY", name
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        expected_cache = "no-cache" if name == "static" else "no-store"
        assert headers["cache-control"] == expected_cache, name
    assert "<script>" not in responses["page"].text  # no inline script anywhere
    cookie = responses["sign-in"].headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


def test_tokens_are_compared_in_full_and_grant_their_own_role() -> None:
    credentials = Credentials.from_tokens(SecretStr(VIEWER_TOKEN), SecretStr(OPERATOR_TOKEN))
    assert credentials.role_of(VIEWER_TOKEN) == "viewer"
    assert credentials.role_of(OPERATOR_TOKEN) == "operator"
    for guess in ("", VIEWER_TOKEN[:-1], OPERATOR_TOKEN + " ", VIEWER_TOKEN.upper()):
        assert credentials.role_of(guess) is None


def test_the_console_refuses_to_start_without_its_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONSOLE_VIEWER_TOKEN", "")  # set empty: a .env must not fill it
    monkeypatch.setenv("CONSOLE_OPERATOR_TOKEN", OPERATOR_TOKEN)
    with pytest.raises(CredentialsError, match="needs CONSOLE_VIEWER_TOKEN set"):
        configured_credentials(Settings())
    result = CliRunner().invoke(main, ["console", "--port", "19399"])
    assert result.exit_code == 1
    assert "the console needs CONSOLE_VIEWER_TOKEN set" in result.output
    assert "--local-dev" in result.output


def test_local_dev_makes_up_only_the_missing_tokens_and_stays_on_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONSOLE_VIEWER_TOKEN", "")  # set empty: a .env must not fill it
    monkeypatch.setenv("CONSOLE_OPERATOR_TOKEN", OPERATOR_TOKEN)
    credentials, made_up = local_dev_credentials(Settings(), "127.0.0.1")
    assert list(made_up) == ["viewer"]
    assert credentials.role_of(made_up["viewer"]) == "viewer"
    assert credentials.role_of(OPERATOR_TOKEN) == "operator"
    for host in ("0.0.0.0", "10.0.0.5", "console.example.com"):  # noqa: S104 - refused, not bound
        with pytest.raises(CredentialsError, match="loopback address only"):
            local_dev_credentials(Settings(), host)


@pytest.mark.parametrize(
    ("tokens", "problem"),
    [
        ({**TOKENS, "CONSOLE_VIEWER_TOKEN": "short"}, "CONSOLE_VIEWER_TOKEN: must be at least 16"),
        ({**TOKENS, "CONSOLE_VIEWER_TOKEN": OPERATOR_TOKEN}, "must differ"),
    ],
)
def test_weak_console_tokens_are_refused_at_start_up(
    monkeypatch: pytest.MonkeyPatch, tokens: dict[str, str], problem: str
) -> None:
    for name, value in tokens.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=problem):
        get_settings()
