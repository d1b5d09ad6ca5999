"""A dead-letter record for tests: every field filled, any of them replaced by keyword."""

from typing import Any

from {{ cookiecutter.package_name }}.deadletter.record import DeadLetter

FAILED_AT = "2026-01-01T10:00:00+00:00"


def a_dead_letter(**fields: Any) -> DeadLetter:
    """An exhausted `svc.tasks.sync` record; `fields` override any of its values."""
    values: dict[str, Any] = {
        "id": "r-1",
        "task": "svc.tasks.sync",
        "args": [],
        "kwargs": {},
        "reason": "exhausted",
        "exception_type": "builtins.ConnectionError",
        "exception_message": "refused",
        "traceback": "",
        "retries": 8,
        "queue": "default",
        "first_failed_at": FAILED_AT,
        "last_failed_at": FAILED_AT,
        "hostname": "worker-1",
    }
    return DeadLetter(**{**values, **fields})
