"""{{ cookiecutter.project_name }}: {{ cookiecutter.description }}

`celery -A {{ cookiecutter.package_name }} worker` finds the Celery app here as `app`. It is
loaded on first use, so `python -m {{ cookiecutter.package_name }}` can report invalid settings
as a plain message.
"""

from typing import TYPE_CHECKING

# For the annotation only: importing Celery takes a third of a second, and every health probe
# (`python -m {{ cookiecutter.package_name }}.health`) imports this package.
if TYPE_CHECKING:
    from celery import Celery

__all__ = ["app"]


def __getattr__(name: str) -> "Celery":
    if name == "app":
        from .celery_app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
