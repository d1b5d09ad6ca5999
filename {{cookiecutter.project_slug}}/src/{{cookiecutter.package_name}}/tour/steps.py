"""The tour's six steps: each plays one part of the retry guide and checks what it should see.

A step prints what happened, from the stubs' and the store's point of view, and returns what it
observed; it raises `ExpectationError` when the guide's outcome did not happen.
"""

import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import Celery

from ..deadletter.record import DeadLetter
from ..deadletter.store import RedisDeadLetterStore
from ..retry import RetryPolicy
from ..tasks import charge_card, deliver_webhook, fetch_profile, sync_to_crm
from .scrape import scrape, total
from .stubs import Call, Reply, Stubs
from .timeline import Timeline, expect, wait_for
from .workers import TourWorker

SERVICE_UNAVAILABLE = 503
GONE = 410
RETRY_AFTER = 2
# Scheduling and delivery add to a wait: a retry may come this much later than its delay.
LATENESS = 3.0
WITHIN = 45.0
CLI = [sys.executable, "-m", "{{ cookiecutter.package_name }}"]
SHOWN_LINES = 8
# What the timeline shows of the failure's log line; the whole line has the message, arguments and
# exception message too.
LOG_FIELDS = ("time", "level", "logger", "task", "task_id", "retries", "queue", "exception_type")


def waits(calls: list[Call]) -> list[float]:
    """Seconds between consecutive calls."""
    return [round(later.at - earlier.at, 1) for earlier, later in itertools.pairwise(calls)]


def charges_applied(calls: list[Call]) -> int:
    """What a gateway that honours `Idempotency-Key` charges: once per key, and once for every
    call without one."""
    keys = {call.idempotency_key for call in calls if call.idempotency_key}
    return len(keys) + sum(call.idempotency_key is None for call in calls)


@dataclass(frozen=True)
class Step:
    """One step of the tour: its heading, its name in `--json`, what plays it, and the command
    to look closer afterwards."""

    heading: str
    name: str
    play: Callable[[], dict[str, Any]]
    look_closer: str


@dataclass
class Tour:
    """What the steps share: the app, the stubs, the workers, the store and the timeline."""

    app: Celery
    stubs: Stubs
    worker: TourWorker
    metrics_port: int
    store: RedisDeadLetterStore
    timeline: Timeline
    exhausted_task_id: str = ""

    def plan(self, look_in_store: str) -> list[Step]:
        """The steps in order; `look_in_store` is the command line that reads the tour's store."""
        return [
            Step(
                "a. A transient failure that recovers (guide step 1: autoretry_for)",
                "transient_failure_recovers",
                self.transient_failure_recovers,
                "python -m {{ cookiecutter.package_name }} policies show",
            ),
            Step(
                "b. Backoff with jitter until the budget runs out (steps 2 and 6)",
                "backoff_until_dead_letter",
                self.backoff_until_dead_letter,
                f"{look_in_store} dlq list",
            ),
            Step(
                "c. A 429's Retry-After honoured; a declined card never retried (step 3)",
                "rate_limit_and_decline",
                self.rate_limit_and_decline,
                f"{look_in_store} dlq show <id> (ids: dlq list --reason non_retryable)",
            ),
            Step(
                "d. A pool process killed mid-charge; the charge happens once (step 4)",
                "worker_loss_charges_once",
                self.worker_loss_charges_once,
                f"grep -i WorkerLost {self.worker.log_path}",
            ),
            Step(
                "e. The metrics and the log line of a failure (step 5)",
                "metrics_and_log_of_a_failure",
                self.metrics_and_log_of_a_failure,
                "curl -s localhost:9808/metrics | grep ^celery_task_failed (a worker running)",
            ),
            Step(
                "f. The dead letter found, its API fixed, the replay succeeding (step 6)",
                "dead_letter_replayed",
                self.dead_letter_replayed,
                f"{look_in_store} dlq history",
            ),
        ]

    def counted(self, metric: str, task: Any, **labels: str) -> float:
        return total(scrape(self.metrics_port), metric, name=task.name, **labels)

    def wait_for_count(self, metric: str, task: Any, above: float, **labels: str) -> None:
        wait_for(
            lambda: self.counted(metric, task, **labels) > above, WITHIN, f"{task.name}: {metric}"
        )

    def dead_letter(self, task_id: str, what: str) -> DeadLetter:
        record: DeadLetter = wait_for(
            lambda: self.store.get(task_id), WITHIN, f"a dead letter for {what}"
        )
        return record

    def run_command(self, *arguments: str) -> list[str]:
        """Run the command line as a reader would; print and return its output."""
        command = [*CLI, *arguments]
        finished = subprocess.run(command, capture_output=True, text=True)  # noqa: S603 - ours
        expect(finished.returncode == 0, f"{' '.join(arguments)} worked: {finished.stderr}")
        self.timeline.say(f"$ python -m {{ cookiecutter.package_name }} {' '.join(arguments)}")
        lines = finished.stdout.splitlines()
        for line in lines[:SHOWN_LINES]:
            self.timeline.say(f"  {line}")
        return lines

    def show_calls(self, calls: list[Call]) -> None:
        for call in calls:
            self.timeline.say(f"  stub: {call.method} {call.path} -> {call.status}", at=call.at)

    def transient_failure_recovers(self) -> dict[str, Any]:
        path = "/profile/users/7"
        self.stubs.script(path, Reply(SERVICE_UNAVAILABLE), Reply(SERVICE_UNAVAILABLE), Reply())
        before = self.counted("celery_task_succeeded_total", fetch_profile)
        task = fetch_profile.delay(7)
        self.timeline.say("fetch_profile(7) sent; the profile API answers 503 twice, then 200")
        self.wait_for_count("celery_task_succeeded_total", fetch_profile, before)
        calls = self.stubs.calls(path)
        self.show_calls(calls)
        statuses = [call.status for call in calls]
        expect(statuses == [503, 503, 200], f"the API saw 503, 503, 200, not {statuses}")
        self.timeline.say(f"fetch_profile succeeded on attempt {len(calls)}")
        return {"task_id": task.id, "statuses": statuses, "waits": waits(calls)}

    def backoff_until_dead_letter(self) -> dict[str, Any]:
        path = "/crm/records/42"
        self.stubs.script(path, Reply(SERVICE_UNAVAILABLE))
        policy: RetryPolicy = sync_to_crm.retry_policy
        task = sync_to_crm.delay(42)
        self.exhausted_task_id = task.id
        self.timeline.say(
            f"sync_to_crm(42) sent; the CRM answers 503 for good. Budget: {policy.max_retries} "
            f"retries, each waiting a random time up to {policy.backoff_base} s doubled per retry"
        )
        record = self.dead_letter(task.id, "sync_to_crm")
        calls = self.stubs.calls(path)
        ceilings = [policy.backoff_ceiling(retries) for retries in range(len(calls) - 1)]
        self.show_calls(calls[:1])
        for call, waited, ceiling in zip(calls[1:], waits(calls), ceilings, strict=True):
            self.timeline.say(
                f"  stub: {call.method} {call.path} -> {call.status}  (waited {waited:.1f} s of "
                f"up to {ceiling} s)",
                at=call.at,
            )
        self.timeline.say(
            f"dead letter {record.id}: reason {record.reason}, {record.retries} retries"
        )
        expect(len(calls) == policy.max_retries + 1, f"{policy.max_retries + 1} attempts")
        expect(record.reason == "exhausted", f"reason exhausted, not {record.reason}")
        late = [w for w, c in zip(waits(calls), ceilings, strict=True) if w > c + LATENESS]
        expect(not late, f"no wait longer than its backoff ceiling, but {late}")
        return {
            "task_id": task.id,
            "attempts": len(calls),
            "waits": waits(calls),
            "ceilings": ceilings,
            "reason": record.reason,
        }

    def rate_limit_and_decline(self) -> dict[str, Any]:
        limited, declined = "/gateway/payments/p-429/charge", "/gateway/payments/p-402/charge"
        self.stubs.script(limited, Reply(429, {"Retry-After": str(RETRY_AFTER)}), Reply())
        self.stubs.script(declined, Reply(402))
        before = self.counted("celery_task_succeeded_total", charge_card)
        charge_card.delay("p-429")
        refused = charge_card.delay("p-402")
        self.timeline.say(
            f"charge_card('p-429') sent: 429 with Retry-After: {RETRY_AFTER}, then 200; "
            "charge_card('p-402') sent: 402, the card is declined"
        )
        self.wait_for_count("celery_task_succeeded_total", charge_card, before)
        record = self.dead_letter(refused.id, "the declined card")
        limited_calls, declined_calls = self.stubs.calls(limited), self.stubs.calls(declined)
        self.show_calls(sorted(limited_calls + declined_calls, key=lambda call: call.at))
        gap = waits(limited_calls)
        self.timeline.say(f"retried after {gap[0] if gap else '?'} s as the gateway asked")
        self.timeline.say(f"declined: dead letter {record.id}, reason {record.reason}, no retry")
        statuses = [call.status for call in limited_calls]
        expect(statuses == [429, 200], f"the gateway saw 429, 200, not {statuses}")
        expect(gap[0] >= RETRY_AFTER - 0.2, f"a wait of {RETRY_AFTER} s, not {gap[0]} s")
        expect(
            len(declined_calls) == 1, f"one call for the declined card, not {len(declined_calls)}"
        )
        expect(record.reason == "non_retryable", f"reason non_retryable, not {record.reason}")
        return {
            "retry_after_wait": gap[0],
            "declined_calls": len(declined_calls),
            "declined_reason": record.reason,
        }

    def worker_loss_charges_once(self) -> dict[str, Any]:
        path = "/gateway/payments/p-crash/charge"
        self.stubs.script(path, Reply(delay=4.0), Reply())
        before = self.counted("celery_task_succeeded_total", charge_card)
        task = charge_card.delay("p-crash")
        self.timeline.say("charge_card('p-crash') sent; the gateway takes 4 s to answer")
        first: list[Call] = wait_for(
            lambda: self.stubs.calls(path), WITHIN, "the charge reached the gateway"
        )
        self.show_calls(first)
        pid: int = wait_for(
            lambda: self.worker.pool_process_running(self.app, task.id), WITHIN, "the pool process"
        )
        os.kill(pid, signal.SIGKILL)
        self.timeline.say(f"SIGKILL to pool process {pid} while it waits for the gateway")
        self.timeline.say(
            "the message goes back to the queue (acks_late); the retry waits until the killed "
            "attempt's idempotency key expires"
        )
        self.wait_for_count("celery_task_succeeded_total", charge_card, before)
        calls = self.stubs.calls(path)
        self.show_calls(calls[1:])
        charges = charges_applied(calls)
        keys = sorted({str(call.idempotency_key) for call in calls})
        self.timeline.say(
            f"the gateway got {len(calls)} requests with Idempotency-Key {', '.join(keys)}: "
            f"{charges} charge"
        )
        expect(len(calls) >= 2, f"the charge was sent again, but the gateway saw {len(calls)}")
        expect(charges == 1, f"one charge, not {charges}")
        return {"task_id": task.id, "gateway_requests": len(calls), "charges": charges}

    def metrics_and_log_of_a_failure(self) -> dict[str, Any]:
        path = "/subscriber/hooks/gone"
        self.stubs.script(path, Reply(GONE))
        before = self.counted("celery_task_failed_total", deliver_webhook)
        task = deliver_webhook.delay(
            self.stubs.url("subscriber") + "/hooks/gone", {"event": "tour"}
        )
        self.timeline.say("deliver_webhook sent to a subscriber that answers 410 Gone")
        self.wait_for_count("celery_task_failed_total", deliver_webhook, before)
        line = wait_for(
            lambda: next(
                (
                    line
                    for line in self.worker.log_lines()
                    if line.get("task_id") == task.id and line.get("level") == "ERROR"
                ),
                None,
            ),
            WITHIN,
            "the failure's JSON log line",
        )
        names = {task.name for task in (fetch_profile, sync_to_crm, charge_card, deliver_webhook)}
        shown = [
            sample
            for sample in scrape(self.metrics_port)
            if sample.labels.get("name") in names
            and sample.name
            in (
                "celery_task_retried_total",
                "celery_task_failed_total",
                "celery_dead_letters_total",
            )
        ]
        self.timeline.say(f"the worker's /metrics (port {self.metrics_port}):")
        for sample in shown:
            self.timeline.say(f"  {sample}")
        brief = {key: line[key] for key in LOG_FIELDS if key in line}
        self.timeline.say(f"the failure's JSON log line, in part: {json.dumps(brief)}")
        failed = [s for s in shown if s.name == "celery_task_failed_total" and s.value > 0]
        expect(bool(failed), "celery_task_failed_total counts the failure")
        return {"task_id": task.id, "log_line": brief, "metrics": [str(s) for s in shown]}

    def dead_letter_replayed(self) -> dict[str, Any]:
        task_id = self.exhausted_task_id
        expect(self.store.get(task_id) is not None, "the dead letter from step b is in the store")
        self.run_command("dlq", "show", task_id)
        path = "/crm/records/42"
        self.stubs.script(path, Reply())
        self.timeline.say("the CRM is fixed: it answers 200 now")
        before = self.counted("celery_task_succeeded_total", sync_to_crm)
        self.run_command("dlq", "replay", task_id)
        self.wait_for_count("celery_task_succeeded_total", sync_to_crm, before)
        self.show_calls(self.stubs.calls(path)[-1:])
        record = self.store.get(task_id)
        expect(record is not None and record.replays == 1, "the record counts one replay")
        self.timeline.say("the replayed task succeeded")
        return {"task_id": task_id, "replays": record.replays if record else 0}
