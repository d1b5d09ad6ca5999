"""The bake matrix grows with the platform options only; feature options are rotated through it."""

import itertools

from .options import (
    CHOICES,
    COMBINATIONS,
    DEFAULTS,
    INTEGRATION_COMBINATIONS,
    PLATFORM,
    PYTHON,
    combination_id,
)

FEATURES = [name for name in CHOICES if name not in (*PLATFORM, PYTHON)]


def pairs(combinations: list[dict[str, str]], first: str, second: str) -> set[tuple[str, str]]:
    return {(combination[first], combination[second]) for combination in combinations}


def test_every_platform_pair_is_baked_with_every_python_version_once() -> None:
    platform_and_python = [*PLATFORM, PYTHON]
    baked = sorted(tuple(c[name] for name in platform_and_python) for c in COMBINATIONS)
    assert baked == sorted(itertools.product(*(CHOICES[name] for name in platform_and_python)))


def test_every_platform_pair_runs_its_integration_suite_once_on_a_baked_project() -> None:
    platform = sorted(tuple(c[name] for name in PLATFORM) for c in INTEGRATION_COMBINATIONS)
    assert platform == sorted(itertools.product(*(CHOICES[name] for name in PLATFORM)))
    baked = {combination_id(c) for c in COMBINATIONS}
    assert {combination_id(c) for c in INTEGRATION_COMBINATIONS} <= baked
    assert combination_id(DEFAULTS) in baked


def test_every_python_version_runs_an_integration_suite() -> None:
    assert {c[PYTHON] for c in INTEGRATION_COMBINATIONS} == set(CHOICES[PYTHON])


def test_features_are_rotated_not_multiplied() -> None:
    assert FEATURES, "cookiecutter.json has feature options such as scheduled_replay"
    for combinations in (COMBINATIONS, INTEGRATION_COMBINATIONS):
        for feature in FEATURES:
            everywhere = set(itertools.product(CHOICES["broker"], CHOICES[feature]))
            assert pairs(combinations, "broker", feature) == everywhere
