"""Failures that reach no task hook: recorded from Celery's `task_failure` signal.

A task that raises `Reject(requeue=False)` fires `task_failure` (Celery 5.7) but not
`Task.on_failure`, and Redis then deletes its message. This handler records it first.
"""

import socket
from typing import Any

from celery import Task
from celery.exceptions import Reject

from .handoff import hand_off
from .record import failure_record


def record_rejection(
    sender: Task,  # type: ignore[type-arg]
    task_id: str,
    exception: BaseException,
    args: Any,
    kwargs: Any,
    traceback: Any = None,
    **_: Any,
) -> None:
    """`task_failure` handler: dead-letter a task that rejected its own message."""
    if not isinstance(exception, Reject) or getattr(exception, "requeue", False):
        return
    hand_off(
        failure_record(
            task_id=task_id,
            task=sender.name,
            args=args,
            kwargs=kwargs,
            reason="rejected",
            error=exception,
            traceback=str(traceback or ""),
            retries=0,
            queue=str(getattr(sender, "queue", None) or ""),
            hostname=socket.gethostname(),
        )
    )
