"""The service's own tasks pass `policies check`, so a team that adds a bad task fails CI."""

from click.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import main

from ..delivery_task import deliver


def test_policies_check_passes_on_the_shipped_tasks() -> None:
    result = CliRunner().invoke(main, ["policies", "check"])
    assert result.exit_code == 0, result.output
    assert "every task's retry policy is safe" in result.output


def test_policies_show_previews_the_schedule() -> None:
    # `deliver` is registered on the service's app, as a team's own task is.
    result = CliRunner().invoke(main, ["policies", "show"])
    assert result.exit_code == 0, result.output
    assert f"{deliver.name}: transient tier" in result.output
    assert "  retry 1: waits 0-2 s" in result.output
    assert "  retry 8: waits 0-256 s" in result.output
