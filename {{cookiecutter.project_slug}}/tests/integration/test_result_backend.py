"""Callers can wait for a task's result through the result backend."""

from {{ cookiecutter.package_name }}.tasks.diagnostics import ping

from .workers import WorkerProcess


def test_caller_receives_the_result(worker: WorkerProcess) -> None:
    assert ping.delay().get(timeout=30) == "pong"
