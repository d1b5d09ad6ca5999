"""Task metrics (prometheus-client). Exporting them from prefork workers comes separately."""

from prometheus_client import Counter, Histogram

TASKS_SUCCEEDED = Counter("celery_tasks_succeeded", "Tasks that succeeded", ["task"])
TASKS_RETRIED = Counter("celery_tasks_retried", "Retries scheduled, one per attempt", ["task"])
TASKS_FAILED = Counter("celery_tasks_failed", "Tasks failed after their last attempt", ["task"])
TASKS_DEAD_LETTERED = Counter(
    "celery_tasks_dead_lettered", "Tasks handed to the dead-letter path", ["task", "reason"]
)
TASK_DURATION = Histogram(
    "celery_task_duration_seconds",
    "Wall time of one attempt",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
