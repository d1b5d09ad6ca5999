"""Dead letters keep their original arguments sealed: replay gets them, people see them masked."""

import pytest
from cryptography.fernet import Fernet, MultiFernet

from {{ cookiecutter.package_name }}.deadletter.originals import (
    Arguments,
    OriginalsUnavailableError,
    keyring,
    seal,
    unseal,
    warn_if_unsealed,
)
from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter, failure_record
from {{ cookiecutter.package_name }}.redaction import MASK
from {{ cookiecutter.package_name }}.settings import Settings, SettingsError, get_settings

ORIGINALS = Arguments(args=[7, {"token": "t-1"}], kwargs={"api_key": "k-123", "amount": 5})


def keys(*fernet_keys: bytes) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in fernet_keys])


def record_of(arguments: Arguments) -> DeadLetter:
    return failure_record(
        task_id="t-1",
        task="tasks.pay",
        args=arguments.args,
        kwargs=arguments.kwargs,
        reason="non_retryable",
        error=PermissionError("no"),
        traceback="",
        retries=0,
        queue="default",
        hostname="h",
    )


def test_sealed_arguments_unseal_with_any_key_of_the_ring() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed = seal(ORIGINALS, keys(old))
    assert "k-123" not in sealed
    assert unseal(sealed, keys(new, old)) == ORIGINALS


def test_sealed_arguments_refuse_a_ring_without_their_key() -> None:
    sealed = seal(ORIGINALS, keys(Fernet.generate_key()))
    with pytest.raises(OriginalsUnavailableError, match="none of the keys"):
        unseal(sealed, keys(Fernet.generate_key()))
    with pytest.raises(OriginalsUnavailableError, match="not set"):
        unseal(sealed, None)


def test_a_record_is_redacted_exactly_when_redaction_masked_an_argument(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEAD_LETTER_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("LOG_REDACT_KEYS", "api_key")
    deep = record_of(Arguments(args=[{"outer": [{"API_KEY": "x"}]}], kwargs={}))
    assert (deep.redacted, deep.args) == (True, [{"outer": [{"API_KEY": MASK}]}])
    assert deep.sealed_arguments
    # The mask as a value is not redaction: replaying it is faithful.
    mask_as_value = record_of(Arguments(args=[MASK], kwargs={"note": MASK}))
    assert (mask_as_value.redacted, mask_as_value.sealed_arguments) == (False, "")


def test_record_shows_arguments_masked_and_replays_the_originals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = Fernet.generate_key()
    monkeypatch.setenv("DEAD_LETTER_ENCRYPTION_KEYS", key.decode())
    record = record_of(ORIGINALS)
    shown = record.to_dict()
    assert shown["args"] == [7, {"token": MASK}]
    assert shown["kwargs"] == {"api_key": MASK, "amount": 5}
    assert "sealed_arguments" not in shown
    assert "k-123" not in str(shown)
    stored = DeadLetter.from_dict(record.to_storage())
    assert stored.redacted is True
    assert stored.original_arguments(keys(key)) == ORIGINALS


def test_without_keys_a_redacted_record_keeps_no_originals_and_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEAD_LETTER_ENCRYPTION_KEYS", raising=False)
    record = record_of(ORIGINALS)
    assert record.sealed_arguments == ""
    with pytest.raises(OriginalsUnavailableError, match="no originals were kept"):
        record.original_arguments(None)


def test_a_record_with_nothing_redacted_replays_its_visible_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEAD_LETTER_ENCRYPTION_KEYS", raising=False)
    plain = Arguments(args=[1, "[redacted]"], kwargs={"note": "x"})
    record = record_of(plain)
    assert (record.redacted, record.sealed_arguments) == (False, "")
    assert record.original_arguments(None) == plain


@pytest.mark.parametrize(
    ("visible_kwargs", "refused"), [({"api_key": MASK}, True), ({"amount": 5}, False)]
)
def test_a_record_written_before_originals_were_kept_is_refused_if_masked(
    visible_kwargs: dict[str, object], refused: bool
) -> None:
    legacy = record_of(Arguments(args=[], kwargs={})).to_storage()
    del legacy["redacted"], legacy["sealed_arguments"]
    record = DeadLetter.from_dict({**legacy, "kwargs": visible_kwargs})
    if refused:
        with pytest.raises(OriginalsUnavailableError):
            record.original_arguments(None)
    else:
        assert record.original_arguments(None).kwargs == visible_kwargs


def test_settings_refuse_a_key_that_is_not_a_fernet_key(monkeypatch: pytest.MonkeyPatch) -> None:
    good = Fernet.generate_key().decode()
    monkeypatch.setenv("DEAD_LETTER_ENCRYPTION_KEYS", f"{good},not-a-key")
    with pytest.raises(SettingsError, match="DEAD_LETTER_ENCRYPTION_KEYS: key 2 is not a") as error:
        get_settings()
    assert "not-a-key" not in str(error.value)
    monkeypatch.setenv("DEAD_LETTER_ENCRYPTION_KEYS", f" {good} , ")
    assert keyring(Settings()) is not None


def test_a_worker_warns_at_start_when_redacting_without_keys(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DEAD_LETTER_ENCRYPTION_KEYS", raising=False)
    warn_if_unsealed(Settings())
    assert "DEAD_LETTER_ENCRYPTION_KEYS is not set" in caplog.text
    caplog.clear()
    monkeypatch.setenv("DEAD_LETTER_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    warn_if_unsealed(Settings())
    assert caplog.text == ""
