"""The dead-letter record: everything needed to understand a failure and replay the task."""

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Reason = Literal[
    "exhausted",
    "non_retryable",
    "delivery_limit",
    "rejected",
    "unknown_task",
    "malformed",
    "time_limit",
]


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def now() -> str:
    """The current UTC time as ISO 8601, the format of the record's timestamps."""
    return datetime.now(UTC).isoformat()
