"""Liveness and readiness probes, answered from two files a worker keeps in HEALTH_DIR.

`heartbeat.py` keeps the files current inside the worker. A probe only reads them: it imports
nothing but the standard library (no app, no settings) and never talks to the broker. So it is
cheap enough to run every few seconds, and a broker outage does not fail the liveness of every
worker at once. The directory and the age limit come from the environment only, not from `.env`.

    python -m {{ cookiecutter.package_name }}.health liveness
    python -m {{ cookiecutter.package_name }}.health readiness

Exit status 0 means yes; 1 means no, with the reason on stderr; 2 means a usage error.
"""

import os
import sys
import time
from pathlib import Path

# One fixed path that the worker and the probe agree on; containers mount a volume there.
DEFAULT_DIRECTORY = Path("/tmp/{{ cookiecutter.project_slug }}-health")  # noqa: S108
DEFAULT_HEARTBEAT_MAX_AGE = 20
HEARTBEAT = "heartbeat"
READY = "ready"


def liveness(directory: Path, max_age: int) -> str | None:
    """Why the worker is not alive, or None if its heartbeat is at most `max_age` seconds old."""
    try:
        age = time.time() - (directory / HEARTBEAT).stat().st_mtime
    except FileNotFoundError:
        return f"no {HEARTBEAT} file in {directory}: the worker has not started"
    if age > max_age:
        return f"the heartbeat is {age:.0f} s old (limit {max_age} s): the worker is hung or gone"
    return None


def readiness(directory: Path) -> str | None:
    """Why the worker is not ready, or None if it is consuming and not shutting down."""
    if (directory / READY).exists():
        return None
    return f"no {READY} file in {directory}: the worker is starting or shutting down"


def main(arguments: list[str]) -> int:
    if arguments not in (["liveness"], ["readiness"]):
        print(
            "usage: python -m {{ cookiecutter.package_name }}.health liveness|readiness",
            file=sys.stderr,
        )
        return 2
    directory = Path(os.environ.get("HEALTH_DIR", DEFAULT_DIRECTORY))
    max_age = os.environ.get("HEALTH_HEARTBEAT_MAX_AGE", str(DEFAULT_HEARTBEAT_MAX_AGE))
    if arguments == ["readiness"]:
        problem = readiness(directory)
    elif max_age.isdecimal():
        problem = liveness(directory, int(max_age))
    else:
        print(
            f"HEALTH_HEARTBEAT_MAX_AGE: not a whole number of seconds ({max_age!r})",
            file=sys.stderr,
        )
        return 2
    if problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"{arguments[0]}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
