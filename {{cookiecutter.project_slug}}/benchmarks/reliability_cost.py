"""What each reliability setting costs: throughput from Celery's defaults to the service as
deployed, one protection at a time.

    python -m benchmarks.reliability_cost [--tasks 2000] [--slow-tasks 500] [--rounds 3]

The steps of `ablation.py` (Celery's defaults, then the service's settings added one by one),
then the service's own app: with a plain task, with metrics and JSON logs on, then with `DLQTask`,
which is the service as deployed. Two last rows each change one setting of the deployed service:
task events on (they are off by default), and a prefetch multiplier of 4 (default 1).

Every row's worker (concurrency 2) starts once, before the first round, and waits idle for its
turns; in each turn it drains two workloads: a no-op task and one that sleeps 20 ms, an HTTP
call's worth. Rounds alternate the rows so that a slow moment of the machine hits them all
alike. Prints, per row, the median publish rate and tasks/s of each workload with its ratio to
Celery's defaults. It uses the broker of CELERY_BROKER_URL and writes to DEAD_LETTER_REDIS_URL:
point both at a place of their own.
"""

import argparse
import statistics
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass

from celery import Celery

from {{ cookiecutter.package_name }}.celery_app import app as service_app
from {{ cookiecutter.package_name }}.topology import WORK_QUEUE

from . import workloads as workload_tasks
from .ablation import STEP_VARIABLE, STEPS, ablation_app, queue_of
from .throughput import Rates, Worker, drain, started_worker

OBSERVABILITY_OFF = {"METRICS_PORT": "0", "LOG_FORMAT": "text"}
# What the last rows change in the service as deployed, one each.
EVENTS_ON = {"CELERY_WORKER_SEND_TASK_EVENTS": "true"}
PREFETCH_4 = {"CELERY_WORKER_PREFETCH_MULTIPLIER": "4"}
# The workers run side by side: each one that serves metrics has a port of its own.
FIRST_METRICS_PORT = 19808


def observability_on(row: int) -> dict[str, str]:
    return {"METRICS_PORT": str(FIRST_METRICS_PORT + row), "LOG_FORMAT": "json"}


@dataclass(frozen=True)
class Setup:
    """A row of the table: how its worker starts and which task variant it runs."""

    label: str
    app: Celery
    app_module: str
    queue: str
    env: dict[str, str]
    dlq_tasks: bool = False

    def worker(self) -> AbstractContextManager[Worker]:
        options = () if self.app is not service_app else (f"--include={workload_tasks.__name__}",)
        return started_worker(self.app, self.app_module, self.queue, self.env, *options)

    def task(self, workload: str) -> str:
        return f"benchmarks.{workload}{'_dlq' if self.dlq_tasks else ''}"


def setups() -> list[Setup]:
    ablation = [
        Setup(
            ("+ " if number else "") + step.label,
            ablation_app(number),
            "benchmarks.ablation",
            queue_of(number),
            {STEP_VARIABLE: str(number), **OBSERVABILITY_OFF},
        )
        for number, step in enumerate(STEPS)
    ]
    service = "{{ cookiecutter.package_name }}"

    def deployed(label: str, row: int, **variables: str) -> Setup:
        """The service's app as deployed (`DLQTask`, metrics, JSON logs), with `variables` set."""
        env = {**observability_on(row), **variables}
        return Setup(label, service_app, service, WORK_QUEUE, env, dlq_tasks=True)

    return [
        *ablation,
        Setup("= the service's app", service_app, service, WORK_QUEUE, OBSERVABILITY_OFF),
        Setup("+ metrics, JSON logs", service_app, service, WORK_QUEUE, observability_on(0)),
        deployed("+ DLQTask: the service as deployed", 1),
        deployed("as deployed, task events on (default off)", 2, **EVENTS_ON),
        deployed("as deployed, prefetch multiplier 4 (default 1)", 3, **PREFETCH_4),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000, help="no-op tasks per round")
    parser.add_argument("--slow-tasks", type=int, default=500, help="20 ms tasks per round")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    workloads = {"noop": options.tasks, "sleep_20ms": options.slow_tasks}
    rows = setups()
    measured: dict[tuple[str, str], list[Rates]] = {}
    with ExitStack() as running:
        workers = [running.enter_context(setup.worker()) for setup in rows]
        for worker in workers:
            worker.wait_idle()
        for _ in range(options.rounds):
            for setup, worker in zip(rows, workers, strict=True):
                for workload, tasks in workloads.items():
                    rates = drain(worker, setup.task(workload), tasks)
                    measured.setdefault((setup.label, workload), []).append(rates)
    print_table(rows, workloads, measured, options.rounds)


def print_table(
    rows: list[Setup],
    workloads: dict[str, int],
    measured: dict[tuple[str, str], list[Rates]],
    rounds: int,
) -> None:
    def median(label: str, workload: str, figure: str) -> float:
        figures = [getattr(rates, figure) for rates in measured[label, workload]]
        return float(statistics.median(figures))

    baseline = rows[0].label
    tasks = ", ".join(f"{count} {workload}" for workload, count in workloads.items())
    print(f"{service_app.conf.broker_url.partition(':')[0]}: {tasks}; median of {rounds} rounds")
    header = "".join(f"  {workload:>10} tasks/s   ratio" for workload in workloads)
    print(f"{'step':<56}  published/s{header}")
    for setup in rows:
        line = f"{setup.label:<56}  {median(setup.label, 'noop', 'published'):11.0f}"
        for workload in workloads:
            rate = median(setup.label, workload, "consumed")
            line += f"  {rate:17.0f}  {rate / median(baseline, workload, 'consumed'):5.2f}x"
        print(line)


if __name__ == "__main__":
    main()
