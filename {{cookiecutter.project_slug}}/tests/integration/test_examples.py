"""The guide's examples on a real worker and broker, against a real (local) HTTP server."""

import uuid

from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore
from {{ cookiecutter.package_name }}.tasks import charge_card, sync_to_crm

from .http_stub import HttpStub, Reply
from .test_dead_letters import wait_for_record
from .workers import WorkerProcess, wait_for


def test_transient_failures_recover(worker: WorkerProcess, http_stub: HttpStub) -> None:
    path = "/records/101"
    http_stub.script(path, Reply(503), Reply(503))
    sync_to_crm.delay(101)
    wait_for(lambda: len(http_stub.requests_to(path)) == 3, within=30, what="two retries")
    assert [request.status for request in http_stub.requests_to(path)] == [503, 503, 200]


def test_retry_after_is_honoured(worker: WorkerProcess, http_stub: HttpStub) -> None:
    # A payment of this run alone: a charged payment is never charged again (idempotency).
    payment_id = f"p-rate-limited-{uuid.uuid4().hex[:12]}"
    path = f"/payments/{payment_id}/charge"
    http_stub.script(path, Reply(429, headers={"Retry-After": "3"}))
    charge_card.delay(payment_id)
    wait_for(lambda: len(http_stub.requests_to(path)) == 2, within=30, what="the retry")
    first, retry = http_stub.requests_to(path)
    assert (first.status, retry.status) == (429, 200)
    assert retry.at - first.at >= 3.0


def test_a_crm_outage_beyond_the_budget_is_dead_lettered(
    worker: WorkerProcess, http_stub: HttpStub, store: RedisDeadLetterStore
) -> None:
    path = "/records/404"
    http_stub.script(path, Reply(503), Reply(503), Reply(503))
    record = wait_for_record(store, sync_to_crm.delay(404).id)
    assert (record.task, record.reason, record.retries) == (sync_to_crm.name, "exhausted", 2)
    assert (record.args, record.exception_type) == ([404], "builtins.ConnectionError")
    assert len(http_stub.requests_to(path)) == 3


def test_a_declined_card_is_charged_once_and_dead_lettered(
    worker: WorkerProcess, http_stub: HttpStub, store: RedisDeadLetterStore
) -> None:
    path = "/payments/p-declined-2/charge"
    http_stub.script(path, Reply(402, body={"error": "card_declined"}))
    record = wait_for_record(store, charge_card.delay("p-declined-2").id)
    assert record.reason == "non_retryable"
    assert record.exception_type.endswith("CardDeclined")
    assert [request.status for request in http_stub.requests_to(path)] == [402]
