"""Remove what the chosen options don't use.

cruft runs this hook again on every `cruft update`, so it must be idempotent and work offline:
it only ever deletes paths that may already be gone.
"""

import shutil
from pathlib import Path

BROKER = {{ cookiecutter.broker | tojson }}
RESULT_BACKEND = {{ cookiecutter.result_backend | tojson }}
SCHEDULED_REPLAY = {{ cookiecutter.scheduled_replay | tojson }}
DEAD_LETTER_CONSOLE = {{ cookiecutter.dead_letter_console | tojson }}
EXAMPLES = {{ cookiecutter.examples | tojson }}
CI = {{ cookiecutter.ci | tojson }}

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
# The dead-letter console: its package (pages and assets too), tests, benchmark and chart objects.
UNUSED_WITHOUT_CONSOLE = (
    "src/{{ cookiecutter.package_name }}/console",
    "tests/console_client.py",
    "tests/unit/test_console.py",
    "tests/integration/test_console.py",
    "tests/browser",
    "benchmarks/console_pages.py",
    "chart/templates/console.yaml",
)
# The onboarding material: the guide's tasks, the HTTP clients only they use, their tests and the
# tour. The tests of generic behaviour use the tests' own tasks, so they all stay.
UNUSED_WITHOUT_EXAMPLES = (
    "src/{{ cookiecutter.package_name }}/tasks/examples.py",
    "src/{{ cookiecutter.package_name }}/clients.py",
    "src/{{ cookiecutter.package_name }}/tour",
    "tests/unit/test_examples.py",
    "tests/unit/test_guide_verification.py",
    "tests/integration/test_examples.py",
    "tests/integration/http_stub.py",
)
TOUR_TESTS = "tests/**/test_tour*.py"
# Each CI system's files; the ones of the systems not chosen go.
CI_FILES = {"github": (".github",), "gitlab": (".gitlab-ci.yml",)}


def unused_paths() -> tuple[str, ...]:
    unused: tuple[str, ...] = ()
    if BROKER == "rabbitmq":
        unused += UNUSED_WITH_RABBITMQ
    if RESULT_BACKEND == "none":
        unused += UNUSED_WITHOUT_RESULT_BACKEND
    if SCHEDULED_REPLAY == "no":
        unused += UNUSED_WITHOUT_SCHEDULED_REPLAY
    if DEAD_LETTER_CONSOLE == "no":
        unused += UNUSED_WITHOUT_CONSOLE
    if EXAMPLES == "no":
        unused += UNUSED_WITHOUT_EXAMPLES
        unused += tuple(str(path) for path in Path().glob(TOUR_TESTS))
    for system, files in CI_FILES.items():
        if system != CI:
            unused += files
    return unused


def remove(path: Path) -> None:
    """Delete a file or a whole directory; a path already gone is left alone."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def main() -> None:
    for relative in unused_paths():
        remove(Path(relative))


if __name__ == "__main__":
    main()
