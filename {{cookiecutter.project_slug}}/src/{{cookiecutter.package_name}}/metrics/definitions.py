"""The service's metric objects, declared in one place.

Names and labels follow danihodovic/celery-exporter where it has the same metric, so
celery-mixin's dashboards and alerts work unchanged. Every metric is labelled: prometheus-client
creates a value only when a label set is first used, and by then the worker has switched to
multiprocess mode (`multiprocess.py`), so no value is ever created in the wrong mode. The one
metric without labels is made on first use for the same reason.

No label holds a task id, an argument or a hostname; `exception` is a class name.
"""

from functools import cache

from prometheus_client import Counter, Histogram

TASK_LABELS = ("name", "queue_name")
RUNTIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
QUEUE_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

TASKS_RECEIVED = Counter(
    "celery_task_received", "Task messages received by the worker", TASK_LABELS
)
TASKS_STARTED = Counter("celery_task_started", "Task attempts started", TASK_LABELS)
TASKS_SUCCEEDED = Counter("celery_task_succeeded", "Tasks that succeeded", TASK_LABELS)
TASKS_FAILED = Counter(
    "celery_task_failed",
    "Tasks that failed after their last attempt, or lost their pool process",
    (*TASK_LABELS, "exception"),
)
TASKS_RETRIED = Counter("celery_task_retried", "Retries scheduled, one per attempt", TASK_LABELS)
TASKS_REJECTED = Counter(
    "celery_task_rejected", "Messages rejected: by their task, unknown or invalid", TASK_LABELS
)
TASKS_REVOKED = Counter("celery_task_revoked", "Tasks revoked before or while running", TASK_LABELS)
TASK_RUNTIME = Histogram(
    "celery_task_runtime",
    "Run time of each attempt in seconds, whatever its outcome",
    TASK_LABELS,
    buckets=RUNTIME_BUCKETS,
)
TASK_QUEUE_WAIT = Histogram(
    "celery_task_queue_wait_time",
    "Seconds from publish (or the later eta) to the start of the attempt",
    TASK_LABELS,
    buckets=QUEUE_WAIT_BUCKETS,
)

DEAD_LETTERS = Counter(
    "celery_dead_letters",
    "Dead-letter records created, by task hand-off or by the dead-letter worker",
    (*TASK_LABELS, "reason"),
)
DELIVERY_LIMIT_HITS = Counter(
    "celery_delivery_limit_hits",
    "Messages dead-lettered for exceeding their delivery limit",
    TASK_LABELS,
)
REPLAYS = Counter("celery_dead_letter_replays", "Replayed tasks received by a worker", ("name",))


@cache
def store_write_failures() -> Counter:
    """Records the store refused, sent down the fallback publish path (made on first use)."""
    return Counter(
        "celery_dead_letter_store_write_failures",
        "Dead-letter records the store refused, published for the dead-letter worker instead",
    )
