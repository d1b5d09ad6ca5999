"""A dead letter's original arguments, sealed so that replay is faithful and people see them masked.

A record shows its arguments redacted (`LOG_REDACT_KEYS`). Replaying those would run the task with
`"[redacted]"` in place of its secrets, so when redaction masked anything the original arguments
are also kept, encrypted with Fernet (AES-128-CBC plus HMAC-SHA256) under the keys in
`DEAD_LETTER_ENCRYPTION_KEYS`: comma-separated, the first one encrypts, every one decrypts, so a
key is rotated by putting the new one first and dropping the old one once no record needs it.

Without keys, records whose arguments were redacted keep no originals, and replay refuses them by
name instead of running them with masked values; the worker warns as it starts.
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..redaction import MASK
from ..settings import GENERATE_A_FERNET_KEY, Settings, comma_separated, get_settings

logger = logging.getLogger(__name__)


class OriginalsUnavailableError(Exception):
    """A record's original arguments can't be recovered; the message says why."""


@dataclass(frozen=True)
class Arguments:
    """A task's positional and keyword arguments."""

    args: list[Any]
    kwargs: dict[str, Any]


def keyring(settings: Settings) -> MultiFernet | None:
    """The keys from `DEAD_LETTER_ENCRYPTION_KEYS`, or None when there are none."""
    keys = comma_separated(settings.dead_letter_encryption_keys.get_secret_value())
    return MultiFernet([Fernet(key) for key in keys]) if keys else None


def configured_keyring() -> MultiFernet | None:
    """The keyring of this process's settings."""
    return keyring(get_settings())


def seal(arguments: Arguments, keys: MultiFernet) -> str:
    """The arguments, encrypted with the first key."""
    plain = json.dumps({"args": arguments.args, "kwargs": arguments.kwargs})
    return keys.encrypt(plain.encode()).decode()


def unseal(sealed: str, keys: MultiFernet | None) -> Arguments:
    """The arguments `seal` encrypted; raises `OriginalsUnavailableError` without the right key."""
    if keys is None:
        raise OriginalsUnavailableError(
            "its original arguments are sealed, but DEAD_LETTER_ENCRYPTION_KEYS is not set"
        )
    try:
        plain = json.loads(keys.decrypt(sealed.encode()))
    except InvalidToken:
        raise OriginalsUnavailableError(
            "none of the keys in DEAD_LETTER_ENCRYPTION_KEYS opens its original arguments "
            "(was the key that sealed them removed?)"
        ) from None
    return Arguments(args=plain["args"], kwargs=plain["kwargs"])


def holds_mask(value: Any) -> bool:
    """Whether the redaction mask is one of the values in `value`, at any depth: how a record
    written before redaction was recorded shows that its arguments were masked."""
    if isinstance(value, Mapping):
        return any(holds_mask(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(holds_mask(item) for item in value)
    return bool(value == MASK)


def warn_if_unsealed(settings: Settings) -> None:
    """Warn at start-up when redaction is on but no key is set: such records can't be replayed."""
    if settings.log_redact_keys and not keyring(settings):
        logger.warning(
            "DEAD_LETTER_ENCRYPTION_KEYS is not set: dead letters whose arguments are redacted "
            "(LOG_REDACT_KEYS) keep no originals and replay will refuse them. Make a key with: %s",
            GENERATE_A_FERNET_KEY,
        )
