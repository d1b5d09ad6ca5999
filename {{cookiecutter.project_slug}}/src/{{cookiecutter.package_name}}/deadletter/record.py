"""The dead-letter record: everything needed to understand a failure and replay the task."""

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from ..logs import exception_type
from ..redaction import redact_arguments
from ..settings import get_settings

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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
) -> DeadLetter:
    """A record for one failure; arguments are redacted (`LOG_REDACT_KEYS`) before anything
    keeps them. `error` is the exception, or a description when there is none."""
    redacted_args, redacted_kwargs = redact_arguments(args, kwargs, get_settings().log_redact_keys)
    when = failed_at or now()
    if isinstance(error, BaseException):
        error_type, exception_message = exception_type(error), str(error)
    else:
        error_type, exception_message = "", error
    return DeadLetter(
        id=task_id,
        task=task,
        args=redacted_args,
        kwargs=redacted_kwargs,
        reason=reason,
        exception_type=error_type,
        exception_message=exception_message,
        traceback=traceback,
        retries=retries,
        queue=queue,
        first_failed_at=when,
        last_failed_at=when,
        hostname=hostname,
    )


def now() -> str:
    """The current UTC time as ISO 8601, the format of the record's timestamps."""
    return datetime.now(UTC).isoformat()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)
