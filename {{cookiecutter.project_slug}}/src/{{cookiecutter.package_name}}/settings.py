"""Every knob of the service, read from the environment (and `.env`) and validated at start-up.

Each field's name is its environment variable in lower case; `.env.example` documents them all.
A value that can't work stops start-up with `SettingsError`, naming the variable and the problem.
"""

{% if cookiecutter.broker == "redis" -%}
import math
{% endif -%}
import os
from functools import cache
from pathlib import Path
from typing import Annotated, Literal, Self

from cryptography.fernet import Fernet
from dotenv import dotenv_values
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
{%- if cookiecutter.broker == "redis" %}

from .parking import HOLD_AT_MOST
{%- endif %}

Seconds = Annotated[int, Field(gt=0)]
RetryBudget = Annotated[int, Field(ge=0, le=50)]
# json: one JSON object per line, for a log store; text: Celery's usual lines, for a shell.
LogFormat = Literal["text", "json"]

MAX_TASK_TIME_LIMIT = 1500
MAX_PREFETCH_MULTIPLIER = 16
# After its running task ends, a stopping worker needs a moment to hand back the messages it holds.
SHUTDOWN_MARGIN = 30
# An idempotency key outlives the attempt holding it by this much.
IDEMPOTENCY_HOLD_MARGIN = 5
{%- if cookiecutter.broker == "redis" %}
# A delivered message stays unacknowledged this long past the longest a worker may hold it before
# Redis hands it to another worker: room for a short countdown, a busy pool and a late event loop.
VISIBILITY_MARGIN = 60
{%- endif %}

# The URL schemes each connection accepts in this build of the service.
URL_SCHEMES = {
{%- if cookiecutter.broker == "rabbitmq" %}
    "celery_broker_url": ("amqp", "amqps"),
{%- else %}
    "celery_broker_url": ("redis", "rediss"),
{%- endif %}
{%- if cookiecutter.result_backend == "redis" %}
    "celery_result_backend": ("redis", "rediss"),
{%- endif %}
    "dead_letter_redis_url": ("redis", "rediss"),
    "idempotency_redis_url": ("redis", "rediss"),
}
{%- if cookiecutter.scheduled_replay == "yes" %}

# Dead-letter reasons (deadletter/record.py) that scheduled replay may take, and those it refuses.
SCHEDULED_REPLAY_REASONS = frozenset(
    {"exhausted", "non_retryable", "delivery_limit", "rejected", "time_limit"}
)
NEVER_REPLAYED_ON_SCHEDULE = {
    "malformed": "a malformed message has no task to run",
    "unknown_task": (
        "no worker knows an unknown_task record's task; deploy it, then run "
        "`dlq replay --all --reason unknown_task` once"
    ),
}
{%- endif %}


GENERATE_A_FERNET_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
{%- if cookiecutter.dead_letter_console == "yes" %}
MIN_CONSOLE_TOKEN_LENGTH = 16
GENERATE_A_CONSOLE_TOKEN = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'  # noqa: S105
{%- endif %}

ENV_FILE = Path(".env")
# Settings a template update replaced, and what replaced them.
RETIRED = {
    "CELERY_TASK_SOFT_TIME_LIMIT": "the soft time limit now follows CELERY_TASK_TIME_LIMIT",
    "WORKER_SHUTDOWN_GRACE": "the shutdown grace now follows CELERY_TASK_TIME_LIMIT",
}


def comma_separated(value: str) -> list[str]:
    """The non-empty items of a comma-separated list, stripped."""
    return [item.strip() for item in value.split(",") if item.strip()]


class SettingsError(ValueError):
    """The environment holds a value the service can't run with."""


class Settings(BaseSettings):
    """The service's configuration; see `.env.example` for what each variable means."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", frozen=True)

{%- if cookiecutter.broker == "rabbitmq" %}

    celery_broker_url: SecretStr = SecretStr("amqp://guest:guest@localhost:5672//")
{%- else %}

    celery_broker_url: SecretStr = SecretStr("redis://localhost:6379/0")
{%- endif %}
{%- if cookiecutter.result_backend == "redis" %}
    celery_result_backend: SecretStr = SecretStr("redis://localhost:6379/1")
{%- endif %}
    # The one time bound: every other one (soft limit, shutdown waits, lock lifetimes) is derived
    # from it below, so they can't disagree. RabbitMQ closes a consumer that holds a message for
    # 30 minutes (its default consumer_timeout), hence the ceiling.
    celery_task_time_limit: Annotated[int, Field(ge=5, le=MAX_TASK_TIME_LIMIT)] = 300
    celery_publish_max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    # Messages a worker may hold per pool process, the running one included. More is faster for
    # short tasks, but a worker that dies whole hands every reserved message back, and each return
    # counts toward the delivery limit.
    celery_worker_prefetch_multiplier: Annotated[int, Field(ge=1, le=MAX_PREFETCH_MULTIPLIER)] = 1
    # Task events cost a broker publish per state change, and the workers' own metrics already
    # count every task. Flower switches them on by itself; `celery events` needs this, or
    # `celery control enable_events`.
    celery_worker_send_task_events: bool = False
    # Put before both queue names (topology.py), so a second copy of the service, such as the
    # onboarding tour, can share a RabbitMQ vhost without taking the first one's messages. No
    # dots: delayed delivery matches routing keys word by word, and a dot starts a new word.
    queue_name_prefix: Annotated[str, Field(pattern=r"^[a-z0-9_]*$", max_length=32)] = ""
{%- if cookiecutter.broker == "rabbitmq" %}
    rabbitmq_delivery_limit: Annotated[int, Field(ge=1, le=100)] = 5
{%- else %}
    # Unset: CELERY_TASK_TIME_LIMIT times CELERY_WORKER_PREFETCH_MULTIPLIER plus VISIBILITY_MARGIN
    # (see `visibility_timeout`).
    redis_visibility_timeout: Seconds | None = None
    redis_delivery_limit: Annotated[int, Field(ge=1, le=100)] = 5
{%- endif %}

    retry_transient_max_retries: RetryBudget = 8
    retry_transient_backoff_base: Seconds = 2
    retry_transient_backoff_cap: Seconds = 600
    retry_rate_limited_max_retries: RetryBudget = 5
    retry_rate_limited_retry_after_cap: Seconds = 300

    dead_letter_redis_url: SecretStr = SecretStr("redis://localhost:6379/2")
    dead_letter_max_records: Annotated[int, Field(ge=100)] = 100_000
    dead_letter_max_age_days: Annotated[int, Field(ge=1)] = 30
    dead_letter_max_replays: Annotated[int, Field(ge=1, le=100)] = 3
    # Fernet keys sealing dead letters' original arguments (deadletter/originals.py), comma-
    # separated: the first encrypts, all decrypt. Empty: redacted records keep no originals, and
    # replay refuses them.
    dead_letter_encryption_keys: SecretStr = SecretStr("")
{%- if cookiecutter.scheduled_replay == "yes" %}

    # Scheduled replay (deadletter/scheduled.py): beat's schedule, read by the beat process.
    scheduled_replay_reasons: Annotated[frozenset[str], NoDecode] = frozenset({"exhausted"})
    scheduled_replay_delay: Seconds = 3600
    scheduled_replay_interval: Seconds = 300
    scheduled_replay_batch: Annotated[int, Field(ge=1, le=1000)] = 100
{%- endif %}

    idempotency_redis_url: SecretStr = SecretStr("redis://localhost:6379/3")
    idempotency_key_ttl: Annotated[int, Field(ge=3600)] = 7 * 24 * 3600

    log_redact_keys: Annotated[frozenset[str], NoDecode] = frozenset(
        {"password", "token", "secret", "authorization", "api_key", "card_number", "cvv"}
    )
    log_format: LogFormat = "text"
{%- if cookiecutter.examples == "yes" %}

    profile_api_url: str = "http://localhost:8081"
    crm_api_url: str = "http://localhost:8082"
    payment_gateway_url: str = "http://localhost:8083"
    http_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
{%- endif %}

    # Deployment: the files the probes read.
    health_dir: Path = Path("/tmp/{{ cookiecutter.project_slug }}-health")  # noqa: S108
    health_heartbeat_max_age: Annotated[int, Field(ge=2, le=600)] = 20

    # Prometheus metrics (metrics/): the port every worker serves /metrics on (0: none), and how
    # often the broker and store gauges are read, once per deployment.
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9808
    metrics_gauge_interval: Annotated[int, Field(ge=1, le=300)] = 15
{%- if cookiecutter.dead_letter_console == "yes" %}

    # The dead-letter console (console/): who may look, who may act, and whether its session
    # cookie is sent over HTTPS only. Empty tokens: the console refuses to start.
    console_viewer_token: SecretStr = SecretStr("")
    console_operator_token: SecretStr = SecretStr("")
    console_secure_cookie: bool = False
{%- endif %}

    @field_validator("log_redact_keys"{% if cookiecutter.scheduled_replay == "yes" %}, "scheduled_replay_reasons"{% endif %}, mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(key.lower() for key in comma_separated(value))
        return value
{%- if cookiecutter.scheduled_replay == "yes" %}

    @field_validator("scheduled_replay_reasons")
    @classmethod
    def _replayable_on_schedule(cls, reasons: frozenset[str]) -> frozenset[str]:
        if not reasons:
            raise ValueError("must name at least one dead-letter reason")
        for reason in sorted(reasons):
            if why := NEVER_REPLAYED_ON_SCHEDULE.get(reason):
                raise ValueError(f"{reason} is never replayed on a schedule: {why}")
            if reason not in SCHEDULED_REPLAY_REASONS:
                raise ValueError(
                    f"{reason!r} is not a dead-letter reason; choose from "
                    f"{', '.join(sorted(SCHEDULED_REPLAY_REASONS))}"
                )
        return reasons
{%- endif %}

    @field_validator(*URL_SCHEMES)
    @classmethod
    def _url_fits_this_build(cls, url: SecretStr, info: ValidationInfo) -> SecretStr:
        accepted = URL_SCHEMES[str(info.field_name)]
        scheme = url.get_secret_value().partition("://")[0]
        if scheme not in accepted:
            expected = " or ".join(f"{name}://" for name in accepted)
            raise ValueError(f"must be a {expected} URL (this service was generated for it)")
        return url

    @field_validator("dead_letter_encryption_keys")
    @classmethod
    def _fernet_keys(cls, keys: SecretStr) -> SecretStr:
        for place, key in enumerate(comma_separated(keys.get_secret_value()), 1):
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    f"key {place} is not a Fernet key (32 url-safe base64-encoded bytes); make "
                    f"one with: {GENERATE_A_FERNET_KEY}"
                ) from None
        return keys

{%- if cookiecutter.dead_letter_console == "yes" %}

    @field_validator("console_viewer_token", "console_operator_token")
    @classmethod
    def _long_enough_to_guess_slowly(cls, token: SecretStr) -> SecretStr:
        if 0 < len(token.get_secret_value()) < MIN_CONSOLE_TOKEN_LENGTH:
            raise ValueError(
                f"must be at least {MIN_CONSOLE_TOKEN_LENGTH} characters; make one with: "
                f"{GENERATE_A_CONSOLE_TOKEN}"
            )
        return token

    @model_validator(mode="after")
    def _console_roles_differ(self) -> Self:
        viewer = self.console_viewer_token.get_secret_value()
        if viewer and viewer == self.console_operator_token.get_secret_value():
            raise ValueError(
                "CONSOLE_VIEWER_TOKEN and CONSOLE_OPERATOR_TOKEN must differ, or every viewer "
                "is an operator"
            )
        return self
{%- endif %}

    @model_validator(mode="after")
    def _backoff_cap_above_base(self) -> Self:
        if self.retry_transient_backoff_cap < self.retry_transient_backoff_base:
            raise ValueError(
                "RETRY_TRANSIENT_BACKOFF_CAP must not be lower than RETRY_TRANSIENT_BACKOFF_BASE"
            )
        return self

{%- if cookiecutter.broker == "redis" %}

    @model_validator(mode="after")
    def _visibility_outlasts_tasks(self) -> Self:
        if self.redis_visibility_timeout is None:
            return self
        if self.redis_visibility_timeout <= self.longest_hold:
            raise ValueError(
                f"REDIS_VISIBILITY_TIMEOUT must be longer than {self.longest_hold} s "
                "(CELERY_TASK_TIME_LIMIT times CELERY_WORKER_PREFETCH_MULTIPLIER plus the shortest "
                "countdown parked in Redis), or Redis hands a message a worker still holds to a "
                "second worker"
            )
        return self

    @property
    def longest_hold(self) -> int:
        return longest_hold(self.celery_task_time_limit, self.celery_worker_prefetch_multiplier)

    @property
    def visibility_timeout(self) -> int:
        """How long a message stays unacknowledged before Redis hands it to another worker:
        REDIS_VISIBILITY_TIMEOUT, or `default_visibility_timeout`. Only the last resort: a dead
        worker's messages return within seconds (recovery.py)."""
        if self.redis_visibility_timeout is not None:
            return self.redis_visibility_timeout
        return default_visibility_timeout(
            self.celery_task_time_limit, self.celery_worker_prefetch_multiplier
        )
{%- endif %}

{%- if cookiecutter.scheduled_replay == "yes" %}

    @model_validator(mode="after")
    def _replay_before_retention(self) -> Self:
        if self.scheduled_replay_delay >= self.dead_letter_max_age_days * 24 * 3600:
            raise ValueError(
                "SCHEDULED_REPLAY_DELAY must be shorter than DEAD_LETTER_MAX_AGE_DAYS, or "
                "retention deletes records before scheduled replay would take them"
            )
        return self
{%- endif %}

    @property
    def cleanup_time(self) -> int:
        """A tenth of the hard time limit, at least a second."""
        return max(1, self.celery_task_time_limit // 10)

    @property
    def celery_task_soft_time_limit(self) -> int:
        """When `SoftTimeLimitExceeded` is raised inside a task: `cleanup_time` before the kill."""
        return self.celery_task_time_limit - self.cleanup_time

    @property
    def worker_soft_shutdown_timeout(self) -> int:
        """How long a cold shutdown (SIGQUIT, or SIGTERM twice) waits before it cancels running
        tasks, which are then delivered again: Celery always waits this long, so it is short."""
        return self.cleanup_time

    @property
    def idempotency_hold_for(self) -> int:
        """How long a running side effect holds its idempotency key: longer than any attempt."""
        return self.celery_task_time_limit + IDEMPOTENCY_HOLD_MARGIN

    @property
    def worker_shutdown_grace(self) -> int:
        """How long a stopping worker may take before it is killed (the pods'
        terminationGracePeriodSeconds): its running task's time limit, then the hand-back."""
        return self.celery_task_time_limit + SHUTDOWN_MARGIN


def describe(error: ValidationError) -> str:
    """One line per problem, naming the environment variable; secret values are never echoed."""
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        if not field:
            lines.append(message)
        elif Settings.model_fields[field].annotation is SecretStr:
            lines.append(f"{field.upper()}: {message}")
        else:
            lines.append(f"{field.upper()}: {message} (got {problem['input']!r})")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def retired_variables(env_file: Path = ENV_FILE) -> list[str]:
    """Variables of settings this service no longer has, set in the environment or `.env`: a
    template update removed them, and ignoring them would hide that they no longer apply."""
    names = set(os.environ) | (set(dotenv_values(env_file)) if env_file.is_file() else set())
    present = {name.upper() for name in names}
    return [f"{name}: {why}" for name, why in RETIRED.items() if name in present]


{%- if cookiecutter.broker == "redis" %}


def longest_hold(time_limit: int, prefetch_multiplier: int) -> int:
    """The longest a worker holds a message unacknowledged, which the visibility timeout must
    outlast: a reserved message waits behind up to `prefetch_multiplier` - 1 others in its pool
    process, then runs, each for up to `time_limit`; a countdown too short to park adds
    `HOLD_AT_MOST` (longer ones wait in Redis, not in the worker: parking.py)."""
    return time_limit * prefetch_multiplier + math.ceil(HOLD_AT_MOST)


def default_visibility_timeout(time_limit: int, prefetch_multiplier: int) -> int:
    return time_limit * prefetch_multiplier + VISIBILITY_MARGIN
{%- endif %}


@cache
def get_settings() -> Settings:
    """The settings, loaded once per process."""
    retired = retired_variables()
    if retired:
        raise SettingsError("retired settings are set; remove them:\n  " + "\n  ".join(retired))
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe(error)) from None
