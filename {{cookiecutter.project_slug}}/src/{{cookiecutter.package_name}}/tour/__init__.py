"""The onboarding tour: `python -m {{ cookiecutter.package_name }} tour` plays the retry guide.

It starts stub HTTP services for the example tasks' APIs, a worker and the dead-letter worker
with short demo timings, then plays six steps on the four example tasks and prints a timeline with
the real elapsed times: a transient failure that recovers; backoff with jitter until a dead letter
appears; a 429's `Retry-After` honoured and a declined card never retried; a pool process killed
mid-charge whose charge still happens once; the metrics and the JSON log line of a failure; the
dead letter replayed once its API is fixed. `--json` prints each step's outcome instead, and the
exit code says whether every step's expected outcome happened.

Isolation (isolation.py): the tour never touches the service's own dead letters, idempotency keys,
results or queues.

- Redis: everything the tour stores goes to one database of its own (`TOUR_REDIS_URL`, by default
  database 15 on the dead-letter store's server), which it empties when it starts and leaves for
  `dlq show` afterwards. A database the service's settings use is refused. With the Redis broker,
  the tour's queues live in that database too.
- RabbitMQ: a vhost would isolate best, but making one needs administrator rights the quickstart's
  user may lack, so the tour shares the configured vhost and renames its queues with
  `QUEUE_NAME_PREFIX=tour_` (`tour_default`, `tour_dead_letter`), deleting them when it ends.
  The exchanges are shared; routing keys keep the two sets of queues apart.

The workers run as processes of their own; whatever ends the tour (a failed step, Ctrl-C,
SIGTERM) stops them on the way out.
"""

from .command import tour

__all__ = ["tour"]
