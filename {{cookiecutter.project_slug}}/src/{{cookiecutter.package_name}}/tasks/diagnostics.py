"""Tasks that prove a deployment works end to end."""

from ..celery_app import app


@app.task
def ping() -> str:
    """Answer "pong" from a worker: proves the broker, a worker and the app agree."""
    return "pong"
