"""The bake matrix grows with the platform options only; feature options are rotated through it."""

import itertools
import re

from .deployment import package_name
from .options import (
    CHAOS_COMBINATIONS,
    CHOICES,
    COMBINATIONS,
    DEFAULTS,
    INTEGRATION_COMBINATIONS,
    PLATFORM,
    PYTHON,
    combination_id,
)
from .projects import BakedProject

FEATURES = [name for name in CHOICES if name not in (*PLATFORM, PYTHON)]
# Options that change only files the service's own tests never run (its CI configuration): each
# choice baked with each broker is enough, so the integration runs need not cover them.
BAKED_ONLY = {"ci"}


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
    run_features = [feature for feature in FEATURES if feature not in BAKED_ONLY]
    for combinations, features in (
        (COMBINATIONS, FEATURES),
        (INTEGRATION_COMBINATIONS, run_features),
    ):
        for feature in features:
            everywhere = set(itertools.product(CHOICES["broker"], CHOICES[feature]))
            assert pairs(combinations, "broker", feature) == everywhere


# Each CI system's files, by the `ci` choice that keeps them; "none" keeps neither.
CI_FILES = {"github": ".github", "gitlab": ".gitlab-ci.yml"}


def test_ci_option_keeps_the_chosen_systems_files_only(baked: BakedProject) -> None:
    chosen = baked.combination["ci"]
    assert set(CI_FILES) < set(CHOICES["ci"])
    kept = {system for system, path in CI_FILES.items() if (baked.path / path).exists()}
    assert kept == ({chosen} & set(CI_FILES))


def test_a_service_without_examples_runs_its_integration_suite_and_chaos_keeps_them() -> None:
    # The tests of generic behaviour must hold without the example tasks, so an integration run
    # proves it; the chaos suites and the tour run where the examples are.
    assert {c["examples"] for c in INTEGRATION_COMBINATIONS} == {"yes", "no"}
    assert {c["examples"] for c in CHAOS_COMBINATIONS} == {"yes"}
    assert DEFAULTS["examples"] == "yes"


EXAMPLES_FILES = (
    "src/{package}/tasks/examples.py",
    "src/{package}/clients.py",
    "tests/unit/test_examples.py",
    "tests/unit/test_guide_verification.py",
    "tests/integration/test_examples.py",
    "tests/integration/http_stub.py",
)
# What only the example tasks and the tour use: their names, their HTTP clients and settings.
EXAMPLES_CODE = re.compile(
    r"fetch_profile|sync_to_crm|charge_card|deliver_webhook|\.clients\b|tasks\.examples|"
    r"http_stub|HttpStub|PROFILE_API_URL|profile_api_url|\.tour\b"
)
# The README's log sample shows a failed charge_card (saying it comes from the examples), and the
# alert rules' promtool tests use task names of a made-up `orders` service as label values.
MAY_NAME_EXAMPLES = {"README.md", "tests/unit/prometheus-rules.test.yaml"}


def test_examples_option_keeps_or_removes_the_onboarding_material(baked: BakedProject) -> None:
    wanted = baked.combination["examples"] == "yes"
    package = package_name(baked.path)
    for relative in EXAMPLES_FILES:
        assert (baked.path / relative.format(package=package)).exists() is wanted, relative
    readme = (baked.path / "README.md").read_text()
    assert ("### Your first task" in readme) is not wanted
    if wanted:
        return
    assert not (baked.path / "src" / package / "tour").exists()
    assert list(baked.path.glob("tests/**/test_tour*.py")) == []
    assert files_mentioning(baked, EXAMPLES_CODE) <= MAY_NAME_EXAMPLES


def files_mentioning(baked: BakedProject, code: re.Pattern[str]) -> set[str]:
    """The generated files (outside the virtual environment) in which `code` appears."""
    return {
        str(path.relative_to(baked.path))
        for path in baked.path.rglob("*")
        if path.is_file()
        and ".venv" not in path.parts
        and code.search(path.read_text(errors="replace"))
    }


CONSOLE_FILES = (
    "src/{package}/console/app.py",
    "src/{package}/console/templates/base.html",
    "src/{package}/console/static/progress.js",
    "tests/console_client.py",
    "tests/unit/test_console.py",
    "tests/integration/test_console.py",
    "tests/browser/test_console_in_browser.py",
    "benchmarks/console_pages.py",
    "chart/templates/console.yaml",
)
# What only the console uses: its package, settings, web dependencies and browser tests.
CONSOLE_CODE = re.compile(
    r"\.console\b|CONSOLE_|console_\w+_token|starlette|uvicorn|jinja2|playwright|chromium|"
    r"-m browser|profile console",
    re.IGNORECASE,
)


def test_dead_letter_console_option_keeps_or_removes_the_console(baked: BakedProject) -> None:
    wanted = baked.combination["dead_letter_console"] == "yes"
    package = package_name(baked.path)
    for relative in CONSOLE_FILES:
        assert (baked.path / relative.format(package=package)).exists() is wanted, relative
    mentioning = files_mentioning(baked, CONSOLE_CODE)
    if wanted:
        expected = {"pyproject.toml", "README.md", ".env.example", "compose.yaml"}
        assert expected | {f"src/{package}/settings.py", "chart/values.yaml"} <= mentioning
        return
    assert not (baked.path / "src" / package / "console").exists()
    assert not (baked.path / "tests" / "browser").exists()
    assert mentioning == set()


def test_the_chaos_tested_services_have_the_console_so_its_browser_tests_run() -> None:
    assert {c["dead_letter_console"] for c in CHAOS_COMBINATIONS} == {"yes"}
    assert {c["dead_letter_console"] for c in INTEGRATION_COMBINATIONS} == {"yes", "no"}
    assert DEFAULTS["dead_letter_console"] == "yes"
