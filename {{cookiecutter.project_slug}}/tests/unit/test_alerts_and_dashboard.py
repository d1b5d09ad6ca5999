"""The alert rules and the dashboard, checked with promtool (from Debian's `prometheus` package).

promtool validates the rules and runs their unit tests (tests/unit/prometheus-rules.test.yaml),
in which every alert fires on series that should trip it and stays quiet on healthy ones. Every
dashboard query must be valid PromQL too: promtool checks them as recording rules.
"""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..promql import (
    PROJECT,
    RULE_TESTS,
    RULES,
    alert_rules,
    dashboard,
    dashboard_expressions,
    panels,
    variable_selectors,
)

SERVICE = "{{ cookiecutter.project_slug }}"
# A metric name and the label matchers after it.
SELECTOR = re.compile(r"([a-z_:]+)\{([^}]*)\}")


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    """promtool with `arguments`, run from the project root."""
    executable = shutil.which("promtool")
    if executable is None:
        pytest.fail(
            "promtool is needed to check the alert rules: install Debian's prometheus package "
            "(sudo apt-get install prometheus)",
            pytrace=False,
        )
    return subprocess.run(
        [executable, *arguments],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def relative(path: Path) -> str:
    return str(path.relative_to(PROJECT))


def readme_anchors() -> set[str]:
    """GitHub's anchors for the README's headings: lower case, punctuation dropped."""
    headings = re.findall(r"^#+ (.+)$", (PROJECT / "README.md").read_text(), re.MULTILINE)
    return {
        re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-") for heading in headings
    }


def test_rules_pass_promtool_check() -> None:
    result = promtool("check", "rules", relative(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_every_alert_fires_and_stays_quiet_as_its_tests_expect() -> None:
    result = promtool("test", "rules", relative(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases: list[dict[str, Any]] = [case for test in tests for case in test["alert_rule_test"]]
    alerts = {rule["alert"] for rule in alert_rules()}
    assert {case["alertname"] for case in cases if case["exp_alerts"]} == alerts
    assert {case["alertname"] for case in cases if not case["exp_alerts"]} == alerts


def test_every_alert_says_what_happened_and_where_its_runbook_is() -> None:
    anchors = readme_anchors()
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        assert annotations["description"], rule["alert"]
        assert annotations["runbook_url"] == f"README.md#{rule['alert'].lower()}"
        assert rule["alert"].lower() in anchors, f"README.md has no heading {rule['alert']}"


def test_every_rule_sees_only_this_services_workers() -> None:
    for rule in alert_rules():
        selectors = SELECTOR.findall(rule["expr"])
        assert selectors, rule["alert"]
        for metric, matchers in selectors:
            assert f'celery_service="{SERVICE}"' in matchers, (rule["alert"], metric)


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    queries = dashboard_expressions() + variable_selectors()
    rules = tmp_path / "dashboard-queries.yaml"
    recording = [
        {"record": f"dashboard:query_{index}", "expr": query} for index, query in enumerate(queries)
    ]
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recording}]}))
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_dashboard_queries_select_only_this_service() -> None:
    for query in dashboard_expressions():
        for metric, matchers in SELECTOR.findall(query):
            assert f'celery_service="{SERVICE}"' in matchers, (metric, query)


def test_dashboard_lets_operators_pick_data_source_queue_and_task() -> None:
    loaded = dashboard()
    assert loaded["schemaVersion"] >= 39
    variables = {variable["name"]: variable for variable in loaded["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("queue_name", "name"):
        assert variables[name]["multi"] is True
        assert variables[name]["includeAll"] is True
    data_source = {"type": "prometheus", "uid": "${datasource}"}
    shown = [panel for panel in panels(loaded) if panel["type"] != "row"]
    for panel in shown:
        assert panel["datasource"] == data_source, panel["title"]
        assert panel["targets"], panel["title"]
        assert all(target["datasource"] == data_source for target in panel["targets"])
    # A dashboard uid is at most 40 characters, and unique per service.
    assert loaded["uid"] == SERVICE[:40]
