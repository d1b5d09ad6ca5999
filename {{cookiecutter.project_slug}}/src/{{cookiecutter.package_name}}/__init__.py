"""{{ cookiecutter.project_name }}: {{ cookiecutter.description }}

`celery -A {{ cookiecutter.package_name }} worker` finds the Celery app here.
"""

from .celery_app import app

__all__ = ["app"]
