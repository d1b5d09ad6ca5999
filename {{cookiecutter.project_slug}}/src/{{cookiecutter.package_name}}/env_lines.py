"""Settings written back as `.env` lines (`config show`): each value in the syntax pydantic-settings
reads for its field, so a printed line pasted into `.env` means the same setting.

- A collection marked `NoDecode` is read by its field's comma-separated validator (settings.py):
  it is written comma-separated. Any other collection is read as JSON, so it is written as JSON.
- Booleans are written `true`/`false`, as `.env.example` writes them.
- An unset optional setting is written as a comment, the way `.env.example` shows one.
- A value python-dotenv would cut short or expand (spaces, `#`, quotes, `$`) is single-quoted.
- Secrets stay masked: a URL keeps everything but its password, any other secret is hidden whole.
"""

import re
from collections.abc import Iterator

from kombu.utils.url import maybe_sanitize_url
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import to_json
from pydantic_settings import BaseSettings, NoDecode

MASK = "**********"
# What python-dotenv reads differently in an unquoted value: a comment, an interpolation, quotes,
# escapes, surrounding spaces.
NEEDS_QUOTES = re.compile(r"[\s#$'\"\\]")


def env_lines(settings: BaseSettings) -> Iterator[str]:
    """One line per setting, in declaration order: `NAME=value`, or `# NAME=` when unset."""
    prefix = settings.model_config.get("env_prefix", "")
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        variable = f"{prefix}{name}".upper()
        if value is None:
            yield f"# {variable}="
        else:
            yield f"{variable}={quoted(env_value(value, field))}"


def env_value(value: object, field: FieldInfo) -> str:
    """`value` as `.env` holds it for `field`."""
    if isinstance(value, SecretStr):
        return masked(value.get_secret_value())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, set | frozenset):
        value = sorted(value)
    if isinstance(value, list | tuple) and NoDecode in field.metadata:
        return ",".join(map(str, value))
    if isinstance(value, list | tuple | dict):
        return to_json(value).decode()
    return str(value)


def masked(secret: str) -> str:
    if "://" in secret:
        return maybe_sanitize_url(secret)
    return MASK if secret else ""


def quoted(value: str) -> str:
    """`value` as python-dotenv reads it back: bare when it can be, else single-quoted (no
    interpolation inside; a backslash and a quote escaped)."""
    if not NEEDS_QUOTES.search(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
