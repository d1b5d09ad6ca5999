"""Each module here registers one deliberately bad task on a throwaway app and expects the
policy checker to refuse it with that gotcha's rule. The tasks are `shared=False` so that they
never reach the service's own app."""

import pytest
from celery import Celery

from {{ cookiecutter.package_name }}.celery_app import build_config
from {{ cookiecutter.package_name }}.policies import Violation, check
from {{ cookiecutter.package_name }}.settings import Settings


@pytest.fixture
def throwaway_app() -> Celery:
    """An app configured like the service's, holding only the tasks a test registers."""
    app = Celery("policy-check", set_as_current=False)
    app.conf.update({**build_config(Settings(_env_file=None)), "include": []})
    return app


def rules_broken(app: Celery, task_name: str) -> list[str]:
    found: list[Violation] = check(app)
    return [violation.rule for violation in found if violation.task == task_name]
