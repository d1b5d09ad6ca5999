"""Who may use the console: a viewer token (read-only) and an operator token (replay, purge).

Both come from the settings as `SecretStr`. Without them the console refuses to start, naming the
variable, unless started with `--local-dev`: then each missing token is made up for this run,
printed once, and the console listens on the loopback interface only.
"""

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from ..settings import GENERATE_A_CONSOLE_TOKEN, Settings

Role = Literal["viewer", "operator"]
TOKEN_VARIABLES: dict[Role, str] = {
    "viewer": "CONSOLE_VIEWER_TOKEN",
    "operator": "CONSOLE_OPERATOR_TOKEN",
}


class CredentialsError(ValueError):
    """The console can't start with these credentials."""


@dataclass(frozen=True)
class Credentials:
    """The two tokens, as SHA-256 digests so comparing them takes the same time whatever the
    guess, and a key to sign sessions with that changes when either token does."""

    viewer_digest: bytes
    operator_digest: bytes

    @classmethod
    def from_tokens(cls, viewer: SecretStr, operator: SecretStr) -> "Credentials":
        return cls(digest(viewer.get_secret_value()), digest(operator.get_secret_value()))

    def role_of(self, token: str) -> Role | None:
        """The role `token` grants, or None; both comparisons always run, in constant time."""
        guess = digest(token)
        is_viewer = hmac.compare_digest(guess, self.viewer_digest)
        is_operator = hmac.compare_digest(guess, self.operator_digest)
        if is_operator:
            return "operator"
        return "viewer" if is_viewer else None

    @property
    def session_key(self) -> str:
        return hmac.new(
            self.operator_digest, b"console session" + self.viewer_digest, hashlib.sha256
        ).hexdigest()


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def configured_tokens(settings: Settings) -> dict[Role, SecretStr]:
    return {"viewer": settings.console_viewer_token, "operator": settings.console_operator_token}


def configured_credentials(settings: Settings) -> Credentials:
    """The credentials from the settings; raises `CredentialsError` naming each missing one."""
    tokens = configured_tokens(settings)
    missing = [TOKEN_VARIABLES[role] for role, token in tokens.items() if not token]
    if missing:
        raise CredentialsError(
            f"the console needs {' and '.join(missing)} set (make a token with: "
            f"{GENERATE_A_CONSOLE_TOKEN}); for a local try-out only, start it with --local-dev"
        )
    return Credentials.from_tokens(tokens["viewer"], tokens["operator"])


def local_dev_credentials(settings: Settings, host: str) -> tuple[Credentials, dict[Role, str]]:
    """Credentials with each missing token made up for this run, and the made-up tokens; refuses
    a host other than a loopback address."""
    if not is_loopback(host):
        raise CredentialsError(f"--local-dev serves on a loopback address only, not {host}")
    tokens = configured_tokens(settings)
    made_up = {role: secrets.token_urlsafe(24) for role, token in tokens.items() if not token}
    with_made_up = {**tokens, **{role: SecretStr(token) for role, token in made_up.items()}}
    return Credentials.from_tokens(with_made_up["viewer"], with_made_up["operator"]), made_up


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
