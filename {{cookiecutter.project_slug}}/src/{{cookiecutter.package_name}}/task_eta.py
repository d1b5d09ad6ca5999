"""When a task message is due: the one reading of Celery's `eta` header in this service.

Celery writes the eta as an ISO 8601 string. Its worker reads a naive one in the app's timezone,
which this service fixes to UTC (`celery_app.py`), so a naive eta here is UTC too. A header that
isn't ISO 8601 has no due time: the queue-wait metric counts from the publish instead{% if cookiecutter.broker == "redis" %}, and
parking pushes the message to its queue as usual (`parking.py`){% endif %}.
"""

from datetime import UTC, datetime


def eta_timestamp(eta: object) -> float | None:
    """`eta` as epoch seconds; None when there is none or it isn't an ISO 8601 string."""
    if not isinstance(eta, str):
        return None
    try:
        due = datetime.fromisoformat(eta)
    except ValueError:
        return None
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return due.timestamp()
