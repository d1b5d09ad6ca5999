"""The tour's output: a timeline of what happened, in real elapsed times; each step's outcome."""

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import click


class ExpectationError(AssertionError):
    """What a step expected to happen did not."""


def expect(condition: bool, what: str) -> None:
    """Fail the step, saying what was expected, unless `condition` holds."""
    if not condition:
        raise ExpectationError(what)


def wait_for(observe: Callable[[], Any], within: float, what: str) -> Any:
    """The first truthy value `observe` returns, polled until `within` seconds have passed."""
    deadline = time.monotonic() + within
    while not (value := observe()):
        if time.monotonic() > deadline:
            raise ExpectationError(f"{what}: not within {within:.0f} s")
        time.sleep(0.1)
    return value


@dataclass
class StepOutcome:
    """Whether a step's expected outcome happened, how long it took, and what was observed."""

    name: str
    ok: bool
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)


class Timeline:
    """Prints what happens, `[  3.2s] ...` from the tour's start, unless only JSON is wanted."""

    def __init__(self, quiet: bool) -> None:
        self.started = time.monotonic()
        self.quiet = quiet
        self.outcomes: list[StepOutcome] = []

    def elapsed(self, at: float | None = None) -> float:
        return (time.monotonic() if at is None else at) - self.started

    def say(self, text: str, at: float | None = None) -> None:
        if not self.quiet:
            click.echo(f"[{self.elapsed(at):6.1f}s] {text}")

    def heading(self, text: str) -> None:
        if not self.quiet:
            click.echo(f"\n{text}")

    def play(self, name: str, step: Callable[[], dict[str, Any]], look_closer: str) -> None:
        """Run `step`, which returns what it observed or raises `ExpectationError`."""
        began = time.monotonic()
        try:
            details, ok = step(), True
        except ExpectationError as error:
            details, ok = {"error": str(error)}, False
        seconds = round(time.monotonic() - began, 1)
        self.outcomes.append(
            StepOutcome(name, ok, seconds, {**details, "look_closer": look_closer})
        )
        verdict = "ok" if ok else f"FAILED: {details['error']}"
        self.say(f"{verdict} ({seconds:.1f} s)")
        if not self.quiet:
            click.echo(f"          look closer: {look_closer}")

    def all_ok(self) -> bool:
        return bool(self.outcomes) and all(outcome.ok for outcome in self.outcomes)

    def report(self) -> None:
        if self.quiet:
            click.echo(json.dumps([asdict(outcome) for outcome in self.outcomes], indent=2))
            return
        passed = sum(outcome.ok for outcome in self.outcomes)
        click.echo(
            f"\n{passed} of {len(self.outcomes)} steps went as the guide says, in "
            f"{self.elapsed():.0f} s."
        )
