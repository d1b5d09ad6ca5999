"""Sensitive keys are masked at any depth, case-insensitively; nothing else changes."""

from typing import Any

import pytest

from {{ cookiecutter.package_name }}.redaction import MASK, redact, redact_arguments


def test_nested_sensitive_keys_are_masked() -> None:
    value = {"user": {"Password": "hunter2", "name": "ada"}, "cards": [{"card_number": "4242"}]}
    assert redact(value, ["password", "card_number"]) == {
        "user": {"Password": MASK, "name": "ada"},
        "cards": [{"card_number": MASK}],
    }


def test_values_without_sensitive_keys_are_unchanged() -> None:
    assert redact([1, "two", {"three": 3}], ["token"]) == [1, "two", {"three": 3}]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ([1, "two"], {"three": 3}),
        ([{"user": {"Password": "hunter2"}}], {}),
        ([], {"cards": [{"card_number": "4242"}]}),
        ([[{"PASSWORD": ""}]], {"note": None}),
        ([MASK], {"note": MASK}),
        ([], {}),
    ],
)
def test_arguments_report_masking_exactly_when_a_value_was_masked(
    args: list[Any], kwargs: dict[str, Any]
) -> None:
    redacted = redact_arguments(args, kwargs, ["password", "card_number"])
    assert (redacted.args, redacted.kwargs) == (
        redact(args, ["password", "card_number"]),
        redact(kwargs, ["password", "card_number"]),
    )
    masked_somewhere = (redacted.args, redacted.kwargs) != (args, kwargs)
    assert redacted.masked is masked_somewhere
