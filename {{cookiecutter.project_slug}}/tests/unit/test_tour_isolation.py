"""The tour writes only to a Redis database of its own{% if cookiecutter.broker == "rabbitmq" %}, and to queues of its own{% endif %}."""

import pytest

from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tour.isolation import SharedStoreError, tour_environment

SERVICE_REDIS_VARIABLES = [
{%- if cookiecutter.broker == "redis" %}
    "CELERY_BROKER_URL",
{%- endif %}
{%- if cookiecutter.result_backend == "redis" %}
    "CELERY_RESULT_BACKEND",
{%- endif %}
    "DEAD_LETTER_REDIS_URL",
    "IDEMPOTENCY_REDIS_URL",
]


@pytest.fixture
def defaults(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a fresh checkout has: every variable unset."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return Settings(_env_file=None)


def test_by_default_the_tour_uses_database_15_of_the_dead_letter_store(defaults: Settings) -> None:
    environment = tour_environment(defaults)
    tour_database = "redis://localhost:6379/15"
    assert environment["DEAD_LETTER_REDIS_URL"] == tour_database
    assert environment["IDEMPOTENCY_REDIS_URL"] == tour_database
{%- if cookiecutter.broker == "rabbitmq" %}
    assert environment["QUEUE_NAME_PREFIX"] == "tour_"
{%- else %}
    assert environment["CELERY_BROKER_URL"] == tour_database
{%- endif %}


@pytest.mark.parametrize("variable", SERVICE_REDIS_VARIABLES)
def test_a_database_the_service_uses_is_refused(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "redis://127.0.0.1:6379/7")
    with pytest.raises(SharedStoreError, match=variable):
        tour_environment(Settings(_env_file=None), "redis://localhost/7")


def test_the_same_database_number_on_another_server_is_allowed(defaults: Settings) -> None:
    used_by_the_service = defaults.dead_letter_redis_url.get_secret_value().rsplit("/", 1)[1]
    elsewhere = f"redis://redis.tour.internal:6379/{used_by_the_service}"
    assert tour_environment(defaults, elsewhere)["DEAD_LETTER_REDIS_URL"] == elsewhere
