"""Mask sensitive values before arguments are logged or stored."""

from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[redacted]"


def redact(value: Any, sensitive_keys: Iterable[str]) -> Any:
    """A copy of `value` in which every mapping entry whose key is sensitive is masked.

    Keys match case-insensitively, at any depth of nested mappings, lists and tuples.
    """
    keys = frozenset(key.lower() for key in sensitive_keys)
    return _redact(value, keys)


def redact_arguments(
    args: Any, kwargs: Any, sensitive_keys: Iterable[str]
) -> tuple[list[Any], dict[str, Any]]:
    """A task's positional and keyword arguments, redacted."""
    return redact(list(args or ()), sensitive_keys), redact(dict(kwargs or {}), sensitive_keys)


def _redact(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, Mapping):
        return {
            key: MASK if str(key).lower() in keys else _redact(item, keys)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item, keys) for item in value]
    return value
