"""The guide's examples on a real worker and broker, against a real (local) HTTP server."""

import uuid

from {{ cookiecutter.package_name }}.tasks import charge_card, sync_to_crm

from .http_stub import HttpStub, Reply
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
