"""The template's options, read from cookiecutter.json: the single source for the bake matrix."""

import itertools
import json
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
OPTIONS: dict[str, object] = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())

# Options offered as a list of choices. Names starting with "_" are cookiecutter's own settings,
# such as _copy_without_render.
CHOICES: dict[str, list[str]] = {
    name: values
    for name, values in OPTIONS.items()
    if isinstance(values, list) and not name.startswith("_")
}
DEFAULTS: dict[str, str] = {name: values[0] for name, values in CHOICES.items()}

# The broker and the result backend change how a failure travels: every pair of them is baked
# and runs the generated integration suite (real workers, about a minute each). Every other option
# (the Python version, and feature switches such as scheduled_replay) is rotated rather than
# multiplied: each pair takes consecutive steps of a rotation through their values. A pair's first
# step runs its integration suite; its steps across every Python version are baked. Every baked
# project runs its unit tests, lint and type checks.
PLATFORM = ("broker", "result_backend")
PYTHON = "python_version"


def rotation(step: int) -> dict[str, str]:
    """The rotated options' values at `step`: each cycles through its choices in order."""
    return {
        name: values[step % len(values)] for name, values in CHOICES.items() if name not in PLATFORM
    }


def combinations(steps_per_pair: int) -> list[dict[str, str]]:
    """Each platform pair with `steps_per_pair` steps of the rotation, from the pair's position."""
    platform_pairs = itertools.product(*(CHOICES[name] for name in PLATFORM))
    chosen = []
    for position, pair in enumerate(platform_pairs):
        for step in range(position, position + steps_per_pair):
            answers = {**dict(zip(PLATFORM, pair, strict=True)), **rotation(step)}
            chosen.append({name: answers[name] for name in CHOICES})
    return chosen


# Consecutive steps cover every Python version, so the platform x Python product is baked whole.
COMBINATIONS = combinations(len(CHOICES[PYTHON]))
INTEGRATION_COMBINATIONS = combinations(1)


# The chaos suites (worker kills, broker restarts, the ledger) take minutes and only the broker
# changes what they prove: one integration combination per broker runs them.
def first_per_broker(candidates: list[dict[str, str]]) -> list[dict[str, str]]:
    chosen: dict[str, dict[str, str]] = {}
    for combination in candidates:
        chosen.setdefault(combination["broker"], combination)
    return list(chosen.values())


CHAOS_COMBINATIONS = first_per_broker(INTEGRATION_COMBINATIONS)


def combination_id(combination: dict[str, str]) -> str:
    return "-".join(combination.values())
