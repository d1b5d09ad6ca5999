"""The template's options, read from cookiecutter.json: the single source for the bake matrix."""

import itertools
import json
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
OPTIONS: dict[str, object] = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())

# Options offered as a list of choices; every combination of them is baked and tested.
# Names starting with "_" are cookiecutter's own settings, such as _copy_without_render.
CHOICES: dict[str, list[str]] = {
    name: values
    for name, values in OPTIONS.items()
    if isinstance(values, list) and not name.startswith("_")
}
DEFAULTS: dict[str, str] = {name: values[0] for name, values in CHOICES.items()}
COMBINATIONS: list[dict[str, str]] = [
    dict(zip(CHOICES, values, strict=True)) for values in itertools.product(*CHOICES.values())
]


# A generated project's integration suite starts real workers and takes about a minute. The
# Python version doesn't change how a broker behaves, so each combination of the other options
# runs it once, on a Python version that rotates so that every version runs it too; every
# combination runs its unit tests, lint and type checks.
ROTATED = "python_version"


def integration_combinations() -> list[dict[str, str]]:
    others = [name for name in CHOICES if name != ROTATED]
    rotation = CHOICES[ROTATED]
    chosen = []
    for index, values in enumerate(itertools.product(*(CHOICES[name] for name in others))):
        answers = {
            **dict(zip(others, values, strict=True)),
            ROTATED: rotation[index % len(rotation)],
        }
        chosen.append({name: answers[name] for name in CHOICES})
    return chosen


INTEGRATION_COMBINATIONS = integration_combinations()


# The chaos suites (worker kills, broker restarts, the ledger) take minutes and only the broker
# changes what they prove: one integration combination per broker runs them.
def first_per_broker(combinations: list[dict[str, str]]) -> list[dict[str, str]]:
    chosen: dict[str, dict[str, str]] = {}
    for combination in combinations:
        chosen.setdefault(combination["broker"], combination)
    return list(chosen.values())


CHAOS_COMBINATIONS = first_per_broker(INTEGRATION_COMBINATIONS)


def combination_id(combination: dict[str, str]) -> str:
    return "-".join(combination.values())
