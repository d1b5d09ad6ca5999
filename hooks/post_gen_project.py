"""Remove what the chosen options don't use.

cruft runs this hook again on every `cruft update`, so it must be idempotent and work offline:
it only ever deletes paths that may already be gone.
"""

from pathlib import Path

BROKER = {{ cookiecutter.broker | tojson }}
RESULT_BACKEND = {{ cookiecutter.result_backend | tojson }}

UNUSED_WITH_RABBITMQ = (
    "tests/unit/policy_checks/test_visibility_timeout.py",
    "src/{{ cookiecutter.package_name }}/deadletter/signals.py",
)
UNUSED_WITHOUT_RESULT_BACKEND = ("tests/integration/test_result_backend.py",)


def unused_paths() -> tuple[str, ...]:
    unused: tuple[str, ...] = ()
    if BROKER == "rabbitmq":
        unused += UNUSED_WITH_RABBITMQ
    if RESULT_BACKEND == "none":
        unused += UNUSED_WITHOUT_RESULT_BACKEND
    return unused


def main() -> None:
    for relative in unused_paths():
        Path(relative).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
