"""Each generated project is lint-clean, type-clean, and its own tests pass on its real broker."""

import pytest

from .brokers import broker_environment
from .deployment import package_name
from .options import combination_id
from .projects import GeneratedProject


def test_ruff_is_clean(generated: GeneratedProject) -> None:
    generated.check("ruff", "check", ".")
    generated.check("ruff", "format", "--check", ".")


def test_mypy_strict_is_clean(generated: GeneratedProject) -> None:
    generated.check("mypy")


def test_own_unit_tests_pass(generated: GeneratedProject) -> None:
    output = generated.check("pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration")
    assert " skipped" not in output


def test_own_integration_tests_pass_against_its_broker(integrated: GeneratedProject) -> None:
    with broker_environment(integrated.combination, combination_id(integrated.combination)) as env:
        output = integrated.check(
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "integration and not chaos and not prometheus",
            env=env,
        )
    assert " skipped" not in output


def test_own_chaos_tests_pass_against_its_broker(
    chaos_tested: GeneratedProject, capsys: pytest.CaptureFixture[str]
) -> None:
    run_name = f"chaos-{combination_id(chaos_tested.combination)}"
    with broker_environment(chaos_tested.combination, run_name) as env:
        output = chaos_tested.check(
            "pytest", "-q", "-s", "-p", "no:cacheprovider", "-m", "chaos", env=env
        )
    assert " passed" in output
    assert " skipped" not in output
    figures = [line for line in output.splitlines() if line.startswith("chaos: ")]
    with capsys.disabled():
        print(f"\n{chaos_tested.combination['broker']}:", *figures, sep="\n  ")


def test_own_prometheus_tests_pass_against_its_broker(
    chaos_tested: GeneratedProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real Prometheus scrapes the project's workers through a scenario, once per broker."""
    run_name = f"prometheus-{combination_id(chaos_tested.combination)}"
    with broker_environment(chaos_tested.combination, run_name) as env:
        output = chaos_tested.check(
            "pytest", "-q", "-s", "-p", "no:cacheprovider", "-m", "prometheus", env=env
        )
    assert " passed" in output
    assert " skipped" not in output
    figures = [line for line in output.splitlines() if line.startswith("prometheus: ")]
    with capsys.disabled():
        print(f"\n{chaos_tested.combination['broker']}:", *figures, sep="\n  ")


def test_cli_runs_as_a_module(generated: GeneratedProject) -> None:
    output = generated.check("python", "-m", package_name(generated.path), "topology", "show")
    assert output.startswith("default:")
