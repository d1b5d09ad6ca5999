"""Scheduled replay: which records are due, the beat entry, and the settings behind them."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet, MultiFernet

from {{ cookiecutter.package_name }}.celery_app import app, build_config
from {{ cookiecutter.package_name }}.deadletter.originals import Arguments, seal
from {{ cookiecutter.package_name }}.deadletter.record import REASONS, DeadLetter, Reason
from {{ cookiecutter.package_name }}.deadletter.scheduled import (
    TASK_NAME,
    beat_schedule,
    candidates,
    replay_due,
    select_due,
)
from {{ cookiecutter.package_name }}.deadletter.store import Query
from {{ cookiecutter.package_name }}.redaction import MASK
from {{ cookiecutter.package_name }}.settings import (
    NEVER_REPLAYED_ON_SCHEDULE,
    SCHEDULED_REPLAY_REASONS,
    SettingsError,
    get_settings,
)
from {{ cookiecutter.package_name }}.topology import WORK_QUEUE

from ..records import a_dead_letter

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(hours=1)


def dead_letter(
    task_id: str, *, failed_ago: timedelta, reason: Reason = "exhausted", replays: int = 0
) -> DeadLetter:
    failed_at = (NOW - failed_ago).isoformat()
    return a_dead_letter(
        id=task_id,
        reason=reason,
        exception_message="503",
        queue=WORK_QUEUE,
        first_failed_at=failed_at,
        last_failed_at=failed_at,
        replays=replays,
    )


def ids(records: list[DeadLetter]) -> list[str]:
    return [record.id for record in records]


def test_only_dead_records_older_than_the_delay_are_due() -> None:
    records = [
        dead_letter("too-recent", failed_ago=timedelta(minutes=59)),
        dead_letter("due", failed_ago=timedelta(hours=1)),
        replace(dead_letter("replayed", failed_ago=timedelta(hours=2)), status="replayed"),
        dead_letter("long-due", failed_ago=timedelta(days=2)),
    ]
    selection = select_due(records, CUTOFF, max_replays=3, batch=10, keys=None)
    assert ids(selection.due) == ["due", "long-due"]
    assert (selection.over_cap, selection.more) == ([], False)


def test_records_at_the_replay_cap_are_held_back() -> None:
    records = [
        dead_letter("under", failed_ago=timedelta(hours=2), replays=2),
        dead_letter("at-cap", failed_ago=timedelta(hours=3), replays=3),
        dead_letter("over-cap", failed_ago=timedelta(hours=4), replays=7),
    ]
    selection = select_due(records, CUTOFF, max_replays=3, batch=10, keys=None)
    assert ids(selection.due) == ["under"]
    assert ids(selection.over_cap) == ["at-cap", "over-cap"]


def test_a_run_replays_at_most_a_batch() -> None:
    records = [dead_letter(f"r{n}", failed_ago=timedelta(hours=n + 1)) for n in range(3)]
    full = select_due(records, CUTOFF, max_replays=3, batch=2, keys=None)
    assert (ids(full.due), full.more) == (["r0", "r1"], True)
    exact = select_due(records, CUTOFF, max_replays=3, batch=3, keys=None)
    assert (ids(exact.due), exact.more) == (["r0", "r1", "r2"], False)


def test_records_that_cannot_be_replayed_faithfully_never_fill_the_batch() -> None:
    ring = MultiFernet([Fernet(Fernet.generate_key())])
    other_ring = MultiFernet([Fernet(Fernet.generate_key())])
    sealed_for_another_ring = seal(Arguments(args=[], kwargs={"token": "t"}), other_ring)
    records = [
        replace(dead_letter("redacted-unsealed", failed_ago=timedelta(hours=2)), redacted=True),
        replace(
            dead_letter("sealed-with-a-lost-key", failed_ago=timedelta(hours=3)),
            redacted=True,
            sealed_arguments=sealed_for_another_ring,
        ),
        replace(
            dead_letter("older-than-mask", failed_ago=timedelta(hours=4)), kwargs={"token": MASK}
        ),
        dead_letter("oldest-replayable", failed_ago=timedelta(hours=5)),
    ]
    selection = select_due(records, CUTOFF, max_replays=3, batch=1, keys=ring)
    assert (ids(selection.due), selection.more) == (["oldest-replayable"], False)
    assert ids(selection.unrecoverable) == [
        "redacted-unsealed",
        "sealed-with-a-lost-key",
        "older-than-mask",
    ]


def test_selection_stops_reading_once_the_batch_is_full() -> None:
    def endless() -> Iterator[DeadLetter]:
        n = 0
        while True:
            n += 1
            yield dead_letter(f"r{n}", failed_ago=timedelta(hours=n))

    assert len(select_due(endless(), CUTOFF, max_replays=3, batch=5, keys=None).due) == 5


def test_candidates_are_the_chosen_reasons_newest_first() -> None:
    stored = [
        dead_letter("exhausted-old", failed_ago=timedelta(hours=5)),
        dead_letter("limit-new", failed_ago=timedelta(hours=1), reason="delivery_limit"),
        dead_letter("exhausted-new", failed_ago=timedelta(hours=2)),
        dead_letter("declined", failed_ago=timedelta(hours=3), reason="non_retryable"),
        dead_letter("limit-old", failed_ago=timedelta(hours=4), reason="delivery_limit"),
    ]

    def iterate(query: Query) -> list[DeadLetter]:
        """A store's iterate: the query's reason, newest failure first."""
        chosen = [record for record in stored if record.reason == query.reason]
        return sorted(chosen, key=lambda record: record.last_failed_at, reverse=True)

    found = candidates(iterate, ["exhausted", "delivery_limit"])
    assert ids(list(found)) == ["limit-new", "exhausted-new", "limit-old", "exhausted-old"]


def test_beat_entry_carries_the_schedule_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDULED_REPLAY_REASONS", "time_limit, exhausted")
    monkeypatch.setenv("SCHEDULED_REPLAY_DELAY", "900")
    monkeypatch.setenv("SCHEDULED_REPLAY_INTERVAL", "60")
    monkeypatch.setenv("SCHEDULED_REPLAY_BATCH", "20")
    (entry,) = beat_schedule(get_settings()).values()
    assert entry == {
        "task": TASK_NAME,
        "schedule": 60.0,
        "kwargs": {"reasons": ["exhausted", "time_limit"], "delay": 900, "batch": 20},
        # A run still queued when the next is due is dropped, not run late.
        "options": {"expires": 60.0},
    }
    assert build_config(get_settings())["beat_schedule"] == beat_schedule(get_settings())


def test_the_task_runs_on_the_work_queue_not_on_dead_letter() -> None:
    assert replay_due.name == TASK_NAME
    assert TASK_NAME in app.tasks
    assert app.amqp.router.route({}, TASK_NAME)["queue"].name == WORK_QUEUE


def test_an_unreachable_store_skips_the_run(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DEAD_LETTER_REDIS_URL", "redis://127.0.0.1:1/0")
    result = replay_due.apply(kwargs={"reasons": ["exhausted"], "delay": 60, "batch": 10})
    assert result.successful()
    assert "scheduled replay skipped, dead-letter store unreachable" in caplog.text


def test_defaults_replay_exhausted_records_after_an_hour() -> None:
    settings = get_settings()
    assert settings.scheduled_replay_reasons == {"exhausted"}
    assert settings.scheduled_replay_delay == 3600


@pytest.mark.parametrize(
    ("reasons", "refusal"),
    [
        ("exhausted,malformed", "malformed is never replayed on a schedule: a malformed message"),
        ("unknown_task", "unknown_task is never replayed on a schedule: no worker knows"),
        ("exhausted,exhuasted", "'exhuasted' is not a dead-letter reason; choose from"),
        (" , ", "must name at least one dead-letter reason"),
    ],
)
def test_reasons_that_cannot_work_are_refused(
    monkeypatch: pytest.MonkeyPatch, reasons: str, refusal: str
) -> None:
    monkeypatch.setenv("SCHEDULED_REPLAY_REASONS", reasons)
    with pytest.raises(SettingsError, match=f"SCHEDULED_REPLAY_REASONS: {refusal}"):
        get_settings()


def test_a_delay_beyond_retention_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEAD_LETTER_MAX_AGE_DAYS", "1")
    monkeypatch.setenv("SCHEDULED_REPLAY_DELAY", str(24 * 3600))
    with pytest.raises(SettingsError, match="SCHEDULED_REPLAY_DELAY must be shorter than DEAD_LE"):
        get_settings()
    monkeypatch.setenv("SCHEDULED_REPLAY_DELAY", str(24 * 3600 - 1))
    assert get_settings().scheduled_replay_delay == 24 * 3600 - 1


def test_every_reason_is_either_schedulable_or_refused() -> None:
    assert SCHEDULED_REPLAY_REASONS | set(NEVER_REPLAYED_ON_SCHEDULE) == set(REASONS)
    assert not SCHEDULED_REPLAY_REASONS & set(NEVER_REPLAYED_ON_SCHEDULE)
