"""Remove what the chosen options don't use.

cruft runs this hook again on every `cruft update`, so it must be idempotent and work offline:
it only ever deletes paths that may already be gone.
"""

from pathlib import Path

BROKER = {{ cookiecutter.broker | tojson }}
RESULT_BACKEND = {{ cookiecutter.result_backend | tojson }}
SCHEDULED_REPLAY = {{ cookiecutter.scheduled_replay | tojson }}

UNUSED_WITH_RABBITMQ = (
    "tests/unit/policy_checks/test_visibility_timeout.py",
    "src/{{ cookiecutter.package_name }}/deadletter/signals.py",
    "benchmarks/held_countdowns.py",
    "src/{{ cookiecutter.package_name }}/redis_transport.py",
    "src/{{ cookiecutter.package_name }}/parking.py",
    "src/{{ cookiecutter.package_name }}/countdown_mover.py",
    "src/{{ cookiecutter.package_name }}/ownership.py",
    "src/{{ cookiecutter.package_name }}/recovery.py",
    "src/{{ cookiecutter.package_name }}/redis_timer.py",
    "tests/unit/test_parking.py",
    "tests/integration/test_redis_recovery.py",
    "tests/integration/recovery_tasks.py",
)
UNUSED_WITHOUT_RESULT_BACKEND = ("tests/integration/test_result_backend.py",)
# The chart's templates are copied unrendered, so the beat Deployment goes as a whole file.
UNUSED_WITHOUT_SCHEDULED_REPLAY = (
    "src/{{ cookiecutter.package_name }}/deadletter/scheduled.py",
    "tests/unit/test_scheduled_replay.py",
    "tests/integration/test_scheduled_replay.py",
    "chart/templates/beat.yaml",
)


def unused_paths() -> tuple[str, ...]:
    unused: tuple[str, ...] = ()
    if BROKER == "rabbitmq":
        unused += UNUSED_WITH_RABBITMQ
    if RESULT_BACKEND == "none":
        unused += UNUSED_WITHOUT_RESULT_BACKEND
    if SCHEDULED_REPLAY == "no":
        unused += UNUSED_WITHOUT_SCHEDULED_REPLAY
    return unused


def main() -> None:
    for relative in unused_paths():
        Path(relative).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
