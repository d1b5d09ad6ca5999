"""Mask sensitive values before arguments are logged or stored.

The one rule for what is sensitive lives here; callers that need to know whether anything was
masked (dead letters seal their originals then) ask `redact_arguments`, never repeat the rule.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MASK = "[redacted]"


@dataclass(frozen=True)
class RedactedArguments:
    """A task's arguments with sensitive values masked, and whether any value was."""

    args: list[Any]
    kwargs: dict[str, Any]
    masked: bool


def redact(value: Any, sensitive_keys: Iterable[str]) -> Any:
    """A copy of `value` in which every mapping entry whose key is sensitive is masked.

    Keys match case-insensitively, at any depth of nested mappings, lists and tuples.
    """
    copy, _masked = _redact(value, _normalised(sensitive_keys))
    return copy


def redact_arguments(args: Any, kwargs: Any, sensitive_keys: Iterable[str]) -> RedactedArguments:
    """A task's positional and keyword arguments, redacted as `redact` does."""
    keys = _normalised(sensitive_keys)
    redacted_args, args_masked = _redact(list(args or ()), keys)
    redacted_kwargs, kwargs_masked = _redact(dict(kwargs or {}), keys)
    return RedactedArguments(redacted_args, redacted_kwargs, masked=args_masked or kwargs_masked)


def _normalised(sensitive_keys: Iterable[str]) -> frozenset[str]:
    return frozenset(key.lower() for key in sensitive_keys)


def _redact(value: Any, keys: frozenset[str]) -> tuple[Any, bool]:
    """A redacted copy of `value`, and whether anything in it was masked."""
    if isinstance(value, Mapping):
        entries = {
            key: (MASK, True) if str(key).lower() in keys else _redact(item, keys)
            for key, item in value.items()
        }
        copy = {key: item for key, (item, _masked) in entries.items()}
        return copy, any(masked for _item, masked in entries.values())
    if isinstance(value, list | tuple):
        items = [_redact(item, keys) for item in value]
        return [item for item, _masked in items], any(masked for _item, masked in items)
    return value, False
