"""The guide's examples on a real worker and broker, against a real (local) HTTP server."""

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
    path = "/payments/p-rate-limited/charge"
    http_stub.script(path, Reply(429, headers={"Retry-After": "3"}))
    charge_card.delay("p-rate-limited")
    wait_for(lambda: len(http_stub.requests_to(path)) == 2, within=30, what="the retry")
    first, retry = http_stub.requests_to(path)
    assert (first.status, retry.status) == (429, 200)
    assert retry.at - first.at >= 3.0


def test_declined_card_runs_exactly_once(worker: WorkerProcess, http_stub: HttpStub) -> None:
    path = "/payments/p-declined/charge"
    http_stub.script(path, Reply(402, body={"error": "card_declined"}))
    sent = charge_card.delay("p-declined")
    # The dead-letter hand-off logs the record once the task has failed for good.
    wait_for(lambda: f'"id": "{sent.id}"' in worker.log(), within=30, what="the dead-letter record")
    assert [request.status for request in http_stub.requests_to(path)] == [402]
    assert '"reason": "non_retryable"' in worker.log()
