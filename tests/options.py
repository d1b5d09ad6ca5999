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


def combination_id(combination: dict[str, str]) -> str:
    return "-".join(combination.values())
