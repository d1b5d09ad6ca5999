"""Replay runs a task with the arguments it was first called with, though people only ever see
them redacted; a record whose originals can't be recovered is refused, never run masked."""

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from {{ cookiecutter.package_name }}.celery_app import app
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.deadletter.originals import configured_keyring
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.redaction import MASK
from {{ cookiecutter.package_name }}.settings import get_settings

from . import faulty_tasks
from .test_dead_letters import wait_for_record
from .workers import WorkerProcess, wait_for

SECRET = "k-live-5f3a9c"
TOKEN = "tok-81b2"


@pytest.fixture
def keys_in_this_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Lets a test change DEAD_LETTER_ENCRYPTION_KEYS for the replay it runs here; the workers
    keep the session's key."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def replay(task_id: str) -> str:
    result = CliRunner().invoke(main, ["dlq", "replay", task_id])
    assert result.exit_code == 0, result.output
    return result.output


def shown(task_id: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["dlq", "show", task_id, "--json"])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert TOKEN not in result.output
    shown_record: dict[str, object] = json.loads(result.output)
    return shown_record


def wait_for_runs(task_id: str, runs: int) -> list[dict[str, object]]:
    wait_for(
        lambda: len(faulty_tasks.received_kwargs(task_id)) >= runs, 30, f"run {runs} of {task_id}"
    )
    return faulty_tasks.received_kwargs(task_id)


def dead_credentials_task(store: RedisDeadLetterStore) -> tuple[DeadLetter, dict[str, object]]:
    """A task called with secrets that failed non-retryably: its record and its kwargs."""
    kwargs: dict[str, object] = {
        "account": f"acct-{uuid.uuid4().hex[:8]}",
        "api_key": SECRET,
        "payload": {"token": TOKEN, "note": "n"},
    }
    sent = faulty_tasks.uses_credentials.apply_async(kwargs=kwargs)
    return wait_for_record(store, sent.id), kwargs


def test_task_hand_off_keeps_originals_and_replay_runs_with_them(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    record, kwargs = dead_credentials_task(store)
    assert shown(record.id)["kwargs"] == {
        "account": kwargs["account"],
        "api_key": MASK,
        "payload": {"token": MASK, "note": "n"},
    }
    faulty_tasks.fix(str(kwargs["account"]))
    assert f"{record.id}: published replay 1" in replay(record.id)
    assert wait_for_runs(record.id, 2)[1] == kwargs


def test_a_rejected_message_keeps_its_originals_and_replays_with_them(
    worker: WorkerProcess, dead_letter_worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
{%- if cookiecutter.broker == "rabbitmq" %}
    # RabbitMQ dead-letters the raw message; the dead-letter worker seals its body's arguments.
{%- else %}
    # Redis deletes the message; the task_failure handler records it with the arguments.
{%- endif %}
    kwargs = {"account": f"acct-{uuid.uuid4().hex[:8]}", "api_key": SECRET}
    sent = faulty_tasks.rejects_credentials.apply_async(kwargs=kwargs)
    record = wait_for_record(store, sent.id)
    assert record.reason == "rejected"
    assert shown(record.id)["kwargs"] == {"account": kwargs["account"], "api_key": MASK}
    faulty_tasks.fix(kwargs["account"])
    assert f"{record.id}: published replay 1" in replay(record.id)
    assert wait_for_runs(record.id, 2)[1] == kwargs


def test_an_unknown_task_message_keeps_its_originals(
    worker: WorkerProcess, dead_letter_worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    kwargs = {"api_key": SECRET, "amount": 3}
    unknown = "{{ cookiecutter.package_name }}.tasks.no_such_task"
    sent = app.send_task(unknown, args=[{"token": TOKEN}], kwargs=kwargs)
    record = wait_for_record(store, sent.id)
    assert record.reason == "unknown_task"
    assert (shown(record.id)["args"], shown(record.id)["kwargs"]) == (
        [{"token": MASK}],
        {"api_key": MASK, "amount": 3},
    )
    originals = record.original_arguments(configured_keyring())
    assert (originals.args, originals.kwargs) == ([{"token": TOKEN}], kwargs)


def test_a_record_without_originals_is_refused_by_name_and_stays_dead(
    worker: WorkerProcess, store: RedisDeadLetterStore
) -> None:
    record, _ = dead_credentials_task(store)
    store.save(replace(record, sealed_arguments=""))  # as if no key was set when it failed
    output = replay(record.id)
    assert f"{record.id}: refused its arguments were redacted and no originals" in output
    assert "published 0 of 1" in output
    kept = store.get(record.id)
    assert kept is not None
    assert (kept.status, kept.replays) == ("dead", 0)  # never claimed, so never published


def test_replay_refuses_without_the_sealing_key_and_works_after_rotation(
    worker: WorkerProcess, store: RedisDeadLetterStore, keys_in_this_process: pytest.MonkeyPatch
) -> None:
    record, kwargs = dead_credentials_task(store)
    session_key = get_settings().dead_letter_encryption_keys.get_secret_value()
    new_key = Fernet.generate_key().decode()
    keys_in_this_process.setenv("DEAD_LETTER_ENCRYPTION_KEYS", new_key)
    get_settings.cache_clear()
    assert f"{record.id}: refused none of the keys" in replay(record.id)
    keys_in_this_process.delenv("DEAD_LETTER_ENCRYPTION_KEYS")
    get_settings.cache_clear()
    assert f"{record.id}: refused its original arguments are sealed" in replay(record.id)

    keys_in_this_process.setenv("DEAD_LETTER_ENCRYPTION_KEYS", f"{new_key},{session_key}")
    get_settings.cache_clear()
    faulty_tasks.fix(str(kwargs["account"]))
    assert f"{record.id}: published replay 1" in replay(record.id)
    assert wait_for_runs(record.id, 2)[1] == kwargs
