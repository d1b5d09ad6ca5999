"""The retry guide's four tasks: read these first. Each shows one idea.

- `fetch_profile`: declarative retries for transient errors only (the guide's Step 1).
- `sync_to_crm`: capped exponential backoff with full jitter (Step 2): 2 s, 4 s, 8 s ... 600 s,
  8 retries, then a dead-letter record with reason `exhausted`.
- `charge_card`: a server-directed delay (Step 3): a 429's `Retry-After` replaces the backoff,
  capped; a declined card is never retried and is dead-lettered at once (`non_retryable`).
- `deliver_webhook`: the `TrackedTask` base (Step 5): every attempt counted and logged.

`charge_card` and `deliver_webhook` have side effects, and a task can run twice (delivery is
at-least-once): `idempotency_keys().run_once` makes each effect happen once per business key.
"""

from typing import Any

from celery import Task

from ..celery_app import app
from ..clients import call, charge, post_webhook
from ..idempotency import idempotency_keys
from ..retry import RATE_LIMITED, TRANSIENT
from ..settings import get_settings
{%- if cookiecutter.broker == "rabbitmq" %}
from .base import DLQTask, TrackedTask
{%- else %}
from .base import DLQTask
{%- endif %}


@app.task(bind=True, base=DLQTask, **TRANSIENT.task_options())
def fetch_profile(self: Task, user_id: int) -> Any:  # type: ignore[type-arg]
    """Fetch a user's profile. A `ValueError` from a bad payload is not retried: it can't heal."""
    return call("GET", f"{get_settings().profile_api_url}/users/{user_id}").json()


@app.task(bind=True, base=DLQTask, **TRANSIENT.task_options())
def sync_to_crm(self: Task, record_id: int) -> None:  # type: ignore[type-arg]
    """Upsert a record in the CRM; network errors and 502/503/504 are retried with backoff."""
    call("PUT", f"{get_settings().crm_api_url}/records/{record_id}", {"id": record_id})


@app.task(bind=True, base=DLQTask, **RATE_LIMITED.task_options())
def charge_card(self: Task, payment_id: str) -> dict[str, Any]:  # type: ignore[type-arg]
    """Charge a payment, once per payment id. `CardDeclined` is in no tier's `retry_on`, so it
    fails at once."""
    key = f"charge:{payment_id}"
    return idempotency_keys().run_once(key, lambda: charge(payment_id, idempotency_key=key))


{% if cookiecutter.broker == "rabbitmq" -%}
# TrackedTask is enough here: RabbitMQ dead-letters the final failure through the DLX.
@app.task(bind=True, base=TrackedTask, **TRANSIENT.task_options())
{%- else -%}
# Redis has no dead-letter exchange, so even this task needs DLQTask's hand-off.
@app.task(bind=True, base=DLQTask, **TRANSIENT.task_options())
{%- endif %}
def deliver_webhook(self: Task, endpoint: str, payload: dict[str, Any]) -> None:  # type: ignore[type-arg]
    """POST `payload` to a subscriber's `endpoint`, once per task (retries and replays keep the
    task's id)."""
    key = f"webhook:{self.request.id}"
    idempotency_keys().run_once(key, lambda: post_webhook(endpoint, payload, idempotency_key=key))
