"""Where the tour keeps its messages and records, apart from the service's; its demo timings."""

from urllib.parse import urlsplit, urlunsplit

from kombu.utils.url import maybe_sanitize_url

from ..settings import Settings

TOUR_REDIS_DB = 15
{%- if cookiecutter.broker == "rabbitmq" %}
TOUR_QUEUE_NAME_PREFIX = "tour_"
{%- endif %}
DEFAULT_REDIS_PORT = 6379
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

# Short enough to watch: three retries waiting at most 1, 2 and 4 s; a 6 s time limit, so a killed
# attempt's idempotency key is free 11 s later; JSON logs, to show a failure's structured line.
DEMO_TIMINGS = {
    "CELERY_TASK_TIME_LIMIT": "6",
    "RETRY_TRANSIENT_MAX_RETRIES": "3",
    "RETRY_TRANSIENT_BACKOFF_BASE": "1",
    "RETRY_TRANSIENT_BACKOFF_CAP": "4",
    "RETRY_RATE_LIMITED_RETRY_AFTER_CAP": "5",
    "HTTP_TIMEOUT": "5",
    "LOG_FORMAT": "json",
}


class SharedStoreError(ValueError):
    """The tour was pointed at a Redis database the service itself uses."""


def redis_location(url: str) -> tuple[str, int, int]:
    """The server and database a Redis URL names; `localhost` and `127.0.0.1` are one server."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    host = "localhost" if host in LOOPBACK_NAMES else host
    database = parts.path.strip("/")
    return host, parts.port or DEFAULT_REDIS_PORT, int(database) if database.isdigit() else 0


def default_tour_redis_url(settings: Settings) -> str:
    """Database `TOUR_REDIS_DB` on the dead-letter store's server."""
    parts = urlsplit(settings.dead_letter_redis_url.get_secret_value())
    return urlunsplit(parts._replace(path=f"/{TOUR_REDIS_DB}"))


def service_redis_urls(settings: Settings) -> dict[str, str]:
    """Every Redis database the service's settings use, by variable."""
    urls = {
{%- if cookiecutter.broker == "redis" %}
        "CELERY_BROKER_URL": settings.celery_broker_url,
{%- endif %}
{%- if cookiecutter.result_backend == "redis" %}
        "CELERY_RESULT_BACKEND": settings.celery_result_backend,
{%- endif %}
        "DEAD_LETTER_REDIS_URL": settings.dead_letter_redis_url,
        "IDEMPOTENCY_REDIS_URL": settings.idempotency_redis_url,
    }
    return {name: url.get_secret_value() for name, url in urls.items()}


def tour_environment(settings: Settings, tour_redis_url: str | None = None) -> dict[str, str]:
    """The variables that move the tour's workers and records away from the service's.

    Raises:
        SharedStoreError: `tour_redis_url` is a database the service's settings use.
    """
    url = tour_redis_url or default_tour_redis_url(settings)
    for name, used in service_redis_urls(settings).items():
        if redis_location(used) == redis_location(url):
            raise SharedStoreError(
                f"the tour empties its Redis database, and {maybe_sanitize_url(url)} is the one "
                f"{name} uses: set "
                "TOUR_REDIS_URL (or --redis-url) to a database nothing else uses"
            )
    return {
        **DEMO_TIMINGS,
        "DEAD_LETTER_REDIS_URL": url,
        "IDEMPOTENCY_REDIS_URL": url,
{%- if cookiecutter.result_backend == "redis" %}
        "CELERY_RESULT_BACKEND": url,
{%- endif %}
{%- if cookiecutter.broker == "redis" %}
        "CELERY_BROKER_URL": url,
{%- else %}
        "CELERY_BROKER_URL": settings.celery_broker_url.get_secret_value(),
        "QUEUE_NAME_PREFIX": TOUR_QUEUE_NAME_PREFIX,
{%- endif %}
    }
