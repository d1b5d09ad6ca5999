"""The dead-letter record: everything needed to understand a failure and replay the task."""

import logging
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from cryptography.fernet import MultiFernet

from ..logs import exception_type
from ..redaction import redact_arguments
from ..settings import get_settings
from .originals import (
    Arguments,
    OriginalsUnavailableError,
    configured_keyring,
    holds_mask,
    seal,
    unseal,
)

logger = logging.getLogger(__name__)

Reason = Literal[
    "exhausted",
    "non_retryable",
    "delivery_limit",
    "rejected",
    "unknown_task",
    "malformed",
    "time_limit",
]
REASONS: tuple[Reason, ...] = get_args(Reason)

# `dead`: waiting for a decision. `replayed`: re-published; a new failure makes it `dead` again.
Status = Literal["dead", "replayed"]


@dataclass(frozen=True)
class DeadLetter:
    """One task that ended in failure; `id` is the original task id (one record per task)."""

    id: str
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    reason: Reason
    exception_type: str
    exception_message: str
    traceback: str
    retries: int
    queue: str
    first_failed_at: str
    last_failed_at: str
    hostname: str
    replays: int = 0
    status: Status = "dead"
    # Whether redaction masked any argument; None for a record written before this was kept.
    redacted: bool | None = None
    # The original arguments, encrypted (deadletter/originals.py); empty when none were kept.
    sealed_arguments: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The record as people and tools see it: arguments redacted, originals left out."""
        shown = asdict(self)
        del shown["sealed_arguments"]
        return shown

    def to_storage(self) -> dict[str, Any]:
        """The whole record, sealed originals included, for the store and the broker."""
        return asdict(self)

    def original_arguments(self, keys: MultiFernet | None) -> Arguments:
        """The arguments the task was first called with; raises `OriginalsUnavailableError` when
        redaction masked some of them and the originals can't be unsealed."""
        if self.sealed_arguments:
            return unseal(self.sealed_arguments, keys)
        masked = self.redacted
        if masked is None:  # written before `redacted` was kept: look for the mask itself
            masked = holds_mask(self.args) or holds_mask(self.kwargs)
        if masked:
            raise OriginalsUnavailableError(
                "its arguments were redacted and no originals were kept (no "
                "DEAD_LETTER_ENCRYPTION_KEYS when it failed, or written before they were kept)"
            )
        return Arguments(args=list(self.args), kwargs=dict(self.kwargs))

    def replayable(self, max_replays: int | None) -> bool:
        """Waiting for a decision (`dead`), and replayed fewer than `max_replays` times (None:
        no limit)."""
        return self.status == "dead" and (max_replays is None or self.replays < max_replays)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DeadLetter":
        known = {field.name for field in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in known})


def failure_record(
    *,
    task_id: str,
    task: str,
    args: Any,
    kwargs: Any,
    reason: Reason,
    error: BaseException | str,
    traceback: str,
    retries: int,
    queue: str,
    hostname: str,
    failed_at: str | None = None,
    replays: int = 0,
) -> DeadLetter:
    """A record for one failure; arguments are redacted (`LOG_REDACT_KEYS`) before anything
    keeps them, and the originals sealed when redaction masked any (`originals.py`). `error` is
    the exception, or a description when there is none; `replays` says which replay of the task
    failed (0: its original run)."""
    originals = Arguments(args=list(args or ()), kwargs=dict(kwargs or {}))
    redacted = redact_arguments(args, kwargs, get_settings().log_redact_keys)
    when = failed_at or now()
    if isinstance(error, BaseException):
        error_type, exception_message = exception_type(error), str(error)
    else:
        error_type, exception_message = "", error
    return DeadLetter(
        id=task_id,
        task=task,
        args=redacted.args,
        kwargs=redacted.kwargs,
        reason=reason,
        exception_type=error_type,
        exception_message=exception_message,
        traceback=traceback,
        retries=retries,
        queue=queue,
        first_failed_at=when,
        last_failed_at=when,
        hostname=hostname,
        replays=replays,
        redacted=redacted.masked,
        sealed_arguments=sealed(task_id, originals) if redacted.masked else "",
    )


def sealed(task_id: str, originals: Arguments) -> str:
    """`originals` sealed with the configured keys; empty, with a warning, without keys."""
    keys = configured_keyring()
    if keys is None:
        logger.warning(
            "dead letter %s: arguments redacted and DEAD_LETTER_ENCRYPTION_KEYS not set; "
            "no originals kept, so replay will refuse it",
            task_id,
        )
        return ""
    return seal(originals, keys)


def now() -> str:
    """The current UTC time as ISO 8601, the format of the record's timestamps."""
    return datetime.now(UTC).isoformat()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)
