"""The PromQL the service ships, read from the files the chart and compose load: the alert
rules (chart/files/prometheus-rules.yaml) and the dashboard's queries
(chart/files/grafana-dashboard.json).

Tests check them with promtool and evaluate them against a real Prometheus. A dashboard query
holds Grafana variables (`$queue_name`, `$__rate_interval`); `dashboard_expressions` substitutes
what Grafana would when "All" is selected, so the result is plain PromQL.
"""

import json
import re
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parents[1]
RULES = PROJECT / "chart" / "files" / "prometheus-rules.yaml"
RULE_TESTS = PROJECT / "tests" / "unit" / "prometheus-rules.test.yaml"
DASHBOARD = PROJECT / "chart" / "files" / "grafana-dashboard.json"

# Grafana's own variables: the rate window and step of a query, and the dashboard's time range.
BUILTIN_VARIABLES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}
# `$name`, `${name}` or `${name:format}`.
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
# The selector of a query variable's `label_values(selector, label)`.
LABEL_VALUES = re.compile(r"label_values\((.*),\s*\w+\)")


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule, in file order."""
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(container: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those inside rows."""
    found: list[dict[str, Any]] = []
    for panel in container.get("panels", []):
        found.append(panel)
        found.extend(panels(panel))
    return found


def variable_values(rate_interval: str) -> dict[str, str]:
    """What each variable stands for with every option at "All": a constant's value, a
    multi-value variable's `allValue` (a regex, used with `=~`)."""
    values = {**BUILTIN_VARIABLES, "__rate_interval": rate_interval}
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "constant":
            values[variable["name"]] = variable["query"]
        elif variable.get("includeAll"):
            values[variable["name"]] = variable["allValue"]
    return values


def substitute(text: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"the dashboard has no variable {name!r} (in {text!r})")
        return values[name]

    return VARIABLE.sub(value, text)


def dashboard_expressions(rate_interval: str = "1m") -> list[str]:
    """Every panel query of the dashboard, as plain PromQL.

    `rate_interval` stands for `$__rate_interval`; make it at least four scrape intervals.
    """
    values = variable_values(rate_interval)
    return [
        substitute(target["expr"], values)
        for panel in panels(dashboard())
        for target in panel.get("targets", [])
    ]


def variable_selectors() -> list[str]:
    """The series selector of every `label_values(...)` query variable, as plain PromQL."""
    values = variable_values(BUILTIN_VARIABLES["__rate_interval"])
    selectors = []
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            match = LABEL_VALUES.fullmatch(variable["definition"])
            assert match, f"not a label_values query: {variable['definition']!r}"
            selectors.append(substitute(match.group(1), values))
    return selectors
