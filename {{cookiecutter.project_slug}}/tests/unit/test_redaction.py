"""Sensitive keys are masked at any depth, case-insensitively; nothing else changes."""

from {{ cookiecutter.package_name }}.redaction import MASK, redact


def test_nested_sensitive_keys_are_masked() -> None:
    value = {"user": {"Password": "hunter2", "name": "ada"}, "cards": [{"card_number": "4242"}]}
    assert redact(value, ["password", "card_number"]) == {
        "user": {"Password": MASK, "name": "ada"},
        "cards": [{"card_number": MASK}],
    }


def test_values_without_sensitive_keys_are_unchanged() -> None:
    assert redact([1, "two", {"three": 3}], ["token"]) == [1, "two", {"three": 3}]
