"""The guide's Verification: once events are on (`celery control enable_events`),
`celery events --dump` shows the retries, then the failure."""

import subprocess
from pathlib import Path

from {{ cookiecutter.package_name }}.celery_app import app

from .faulty_tasks import new_record, syncs_record
from .workers import STOP_WITHIN, WorkerProcess, celery_command, wait_for


def test_events_show_task_retried_then_task_failed(worker: WorkerProcess, tmp_path: Path) -> None:
    output = tmp_path / "events.log"
    # Events are off by default: switched on as the README says (Flower does the same).
    destination = [worker.nodename]
    app.control.enable_events(destination=destination, reply=True, timeout=30)
    command = celery_command("events", "--dump")
    with output.open("wb") as sink:
        dump = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        # Worker heartbeats reach the dump every 2 s once it is capturing.
        wait_for(lambda: "heartbeat" in output.read_text(), within=30, what="events capturing")
        sent = syncs_record.delay(new_record(outage_for=3))
        wait_for(
            lambda: f"task failed: {syncs_record.name}({sent.id})" in output.read_text(),
            within=60,
            what="task-failed event",
        )
    finally:
        dump.terminate()
        dump.wait(STOP_WITHIN)
        app.control.disable_events(destination=destination, reply=True, timeout=30)
    lines = [line for line in output.read_text().splitlines() if sent.id in line]
    kinds = [line.split("] ", 1)[1].split(":", 1)[0] for line in lines]
    assert kinds.count("task retried") == 2
    assert kinds.index("task retried") < kinds.index("task failed")
