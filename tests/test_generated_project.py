"""Each generated project is lint-clean, type-clean, and its own tests pass on its real broker."""

from pathlib import Path

import pytest

from .brokers import broker_environment
from .deployment import package_name
from .options import combination_id
from .projects import SUITE_TIMEOUT, GeneratedProject


def test_ruff_is_clean(generated: GeneratedProject) -> None:
    generated.check("ruff", "check", ".")
    generated.check("ruff", "format", "--check", ".")


def test_mypy_strict_is_clean(generated: GeneratedProject, mypy_cache: Path) -> None:
    generated.check("mypy", env={"MYPY_CACHE_DIR": str(mypy_cache)})


def test_own_unit_tests_pass(generated: GeneratedProject) -> None:
    output = generated.check("pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration")
    assert " skipped" not in output


def plain_integration_tests(combination: dict[str, str]) -> str:
    """The `-m` expression of the integration tests outside the opt-in suites (those run once per
    broker). pytest refuses a marker the project doesn't declare: `browser` needs the console."""
    opt_in = ["chaos", "prometheus", "tour"]
    if combination["dead_letter_console"] == "yes":
        opt_in.append("browser")
    return " and not ".join(["integration", *opt_in])


def test_own_integration_tests_pass_against_its_broker(integrated: GeneratedProject) -> None:
    with broker_environment(integrated.combination, combination_id(integrated.combination)) as env:
        output = integrated.check(
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            plain_integration_tests(integrated.combination),
            env=env,
        )
    assert " skipped" not in output


def run_opt_in_suite(
    project: GeneratedProject, marker: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run the project's tests marked `marker` (opt-in suites, left out of a plain `pytest`) on a
    fresh place on its broker, and show the figures they print as `<marker>: ...` lines."""
    run_name = f"{marker}-{combination_id(project.combination)}"
    with broker_environment(project.combination, run_name) as env:
        output = project.check(
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "-m",
            marker,
            "--durations=5",
            env=env,
            timeout=SUITE_TIMEOUT,
        )
    assert " passed" in output
    assert " skipped" not in output
    figures = [line for line in output.splitlines() if line.startswith(f"{marker}: ")]
    with capsys.disabled():
        print(f"\n{project.combination['broker']}:", *figures, sep="\n  ")


def test_own_chaos_tests_pass_against_its_broker(
    chaos_tested: GeneratedProject, capsys: pytest.CaptureFixture[str]
) -> None:
    run_opt_in_suite(chaos_tested, "chaos", capsys)


def test_own_prometheus_tests_pass_against_its_broker(
    chaos_tested: GeneratedProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real Prometheus scrapes the project's workers through a scenario, once per broker."""
    run_opt_in_suite(chaos_tested, "prometheus", capsys)


def test_own_browser_tests_pass_against_its_broker(
    chaos_tested: GeneratedProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """Headless Chromium drives the dead-letter console through an incident, once per broker."""
    run_opt_in_suite(chaos_tested, "browser", capsys)


def test_own_tour_passes_against_its_broker(
    chaos_tested: GeneratedProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m <package> tour` plays each step of the retry guide as it says, once per broker."""
    run_opt_in_suite(chaos_tested, "tour", capsys)


# One short round (about a minute per broker; three rounds of 300 took two): CI proves that every
# row's worker starts and drains, prints the table, and fails on nothing it shows, since at this
# size the figures are noise. The README's come from 2,000 and 500 tasks, median of 5 rounds.
BENCHMARK_SIZE = ("--tasks", "200", "--slow-tasks", "40", "--rounds", "1")


def test_reliability_cost_benchmark_prints_its_table(
    chaos_tested: GeneratedProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m benchmarks.reliability_cost` measures every step, once per broker."""
    run_name = f"benchmark-{combination_id(chaos_tested.combination)}"
    with broker_environment(chaos_tested.combination, run_name) as env:
        output = chaos_tested.check(
            "python", "-m", "benchmarks.reliability_cost", *BENCHMARK_SIZE, env=env
        )
    lines = output.splitlines()
    [header] = [number for number, line in enumerate(lines) if line.startswith("step ")]
    rows = lines[header + 1 :]
    assert rows[0].startswith("Celery's defaults")
    assert rows[-1].startswith("as deployed, prefetch multiplier 4")
    for row in rows:
        rates = [float(figure.rstrip("x")) for figure in row.split()[-5:]]
        assert all(rate > 0 for rate in rates), row
    with capsys.disabled():
        print("", *lines[header - 1 :], sep="\n")


def test_cli_runs_as_a_module(generated: GeneratedProject) -> None:
    output = generated.check("python", "-m", package_name(generated.path), "topology", "show")
    assert output.startswith("default:")
