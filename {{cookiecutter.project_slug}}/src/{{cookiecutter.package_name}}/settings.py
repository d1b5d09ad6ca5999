"""Every knob of the service, read from the environment (and `.env`) and validated at start-up.

Each field's name is its environment variable in lower case; `.env.example` documents them all.
A value that can't work stops start-up with `SettingsError`, naming the variable and the problem.
"""

from functools import cache
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Seconds = Annotated[int, Field(gt=0)]
RetryBudget = Annotated[int, Field(ge=0, le=50)]

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


class SettingsError(ValueError):
    """The environment holds a value the service can't run with."""


class Settings(BaseSettings):
    """The service's configuration; see `.env.example` for what each variable means."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

{%- if cookiecutter.broker == "rabbitmq" %}

    celery_broker_url: SecretStr = SecretStr("amqp://guest:guest@localhost:5672//")
{%- else %}

    celery_broker_url: SecretStr = SecretStr("redis://localhost:6379/0")
{%- endif %}
{%- if cookiecutter.result_backend == "redis" %}
    celery_result_backend: SecretStr = SecretStr("redis://localhost:6379/1")
{%- endif %}
    celery_task_time_limit: Seconds = 300
    celery_task_soft_time_limit: Seconds = 270
    celery_publish_max_retries: Annotated[int, Field(ge=0, le=10)] = 3
{%- if cookiecutter.broker == "rabbitmq" %}
    rabbitmq_delivery_limit: Annotated[int, Field(ge=1, le=100)] = 5
{%- else %}
    redis_visibility_timeout: Seconds = 3600
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
{%- if cookiecutter.scheduled_replay == "yes" %}

    # Scheduled replay (deadletter/scheduled.py): beat's schedule, read by the beat process.
    scheduled_replay_reasons: Annotated[frozenset[str], NoDecode] = frozenset({"exhausted"})
    scheduled_replay_delay: Seconds = 3600
    scheduled_replay_interval: Seconds = 300
    scheduled_replay_batch: Annotated[int, Field(ge=1, le=1000)] = 100
{%- endif %}

    log_redact_keys: Annotated[frozenset[str], NoDecode] = frozenset(
        {"password", "token", "secret", "authorization", "api_key", "card_number", "cvv"}
    )

    profile_api_url: str = "http://localhost:8081"
    crm_api_url: str = "http://localhost:8082"
    payment_gateway_url: str = "http://localhost:8083"
    http_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0

    # Deployment: how long a stopping worker may take, and the files its probes read.
    worker_shutdown_grace: Seconds = 330
    health_dir: Path = Path("/tmp/{{ cookiecutter.project_slug }}-health")  # noqa: S108
    health_heartbeat_max_age: Annotated[int, Field(ge=2, le=600)] = 20

    @field_validator("log_redact_keys"{% if cookiecutter.scheduled_replay == "yes" %}, "scheduled_replay_reasons"{% endif %}, mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(key.strip().lower() for key in value.split(",") if key.strip())
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

    @model_validator(mode="after")
    def _backoff_cap_above_base(self) -> Self:
        if self.retry_transient_backoff_cap < self.retry_transient_backoff_base:
            raise ValueError(
                "RETRY_TRANSIENT_BACKOFF_CAP must not be lower than RETRY_TRANSIENT_BACKOFF_BASE"
            )
        return self

    @model_validator(mode="after")
    def _soft_limit_comes_first(self) -> Self:
        if self.celery_task_soft_time_limit >= self.celery_task_time_limit:
            raise ValueError(
                "CELERY_TASK_SOFT_TIME_LIMIT must be lower than CELERY_TASK_TIME_LIMIT, "
                "so a task can clean up before it is killed"
            )
        return self
{%- if cookiecutter.broker == "redis" %}

    @model_validator(mode="after")
    def _visibility_outlasts_tasks(self) -> Self:
        if self.redis_visibility_timeout <= self.celery_task_time_limit:
            raise ValueError(
                "REDIS_VISIBILITY_TIMEOUT must be longer than CELERY_TASK_TIME_LIMIT, "
                "or Redis hands a still-running task to a second worker"
            )
        return self
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

    @model_validator(mode="after")
    def _shutdown_outlasts_tasks(self) -> Self:
        # A warm shutdown waits for running tasks, which the hard time limit ends at the latest;
        # the margin lets the worker return the messages it holds before it is killed.
        if self.worker_shutdown_grace < self.celery_task_time_limit + 10:
            raise ValueError(
                "WORKER_SHUTDOWN_GRACE must be at least CELERY_TASK_TIME_LIMIT + 10 seconds, "
                "so a stopping worker can finish its running task before it is killed"
            )
        return self


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


@cache
def get_settings() -> Settings:
    """The settings, loaded once per process."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe(error)) from None
