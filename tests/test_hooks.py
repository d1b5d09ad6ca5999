"""Bad answers are refused before anything is written; the hooks themselves are clean Python."""

import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from jinja2 import Environment

from .options import DEFAULTS, OPTIONS, TEMPLATE_DIR

HOOKS_DIR = TEMPLATE_DIR / "hooks"
RUFF_CONFIG = TEMPLATE_DIR / "pyproject.toml"
# Renders Python source, not HTML; cookiecutter keeps the final newline too.
JINJA = Environment(autoescape=False, keep_trailing_newline=True)  # noqa: S701

REFUSED = [
    ({"project_name": "   "}, "project_name: must not be empty"),
    ({"project_slug": "Order_Worker"}, "project_slug: 'Order_Worker' must be a Kubernetes name"),
    ({"project_slug": "9-lives"}, "project_slug: '9-lives' must be a Kubernetes name"),
    ({"project_slug": "worker-"}, "project_slug: 'worker-' must be a Kubernetes name"),
    ({"project_slug": "w" * 54}, "at most 53 characters"),
    ({"project_name": "2024 Worker"}, "project_slug: '2024-worker' must be a Kubernetes name"),
    ({"package_name": "9lives"}, "package_name: '9lives' must be a Python identifier"),
    ({"package_name": "order-worker"}, "package_name: 'order-worker' must be a Python identifier"),
    ({"package_name": ""}, "package_name: '' must be a Python identifier"),
    ({"package_name": "class"}, "package_name: 'class' is a Python keyword"),
    ({"package_name": "match"}, "package_name: 'match' is a Python keyword"),
    ({"package_name": "celery"}, "package_name: 'celery' would shadow"),
    ({"package_name": "kombu"}, "package_name: 'kombu' would shadow"),
    ({"package_name": "redis"}, "package_name: 'redis' would shadow"),
    ({"package_name": "email"}, "package_name: 'email' would shadow"),
    ({"author_email": "nobody"}, "author_email: 'nobody' is not an email address"),
]


@pytest.mark.parametrize(("answers", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_bad_answer_is_refused_and_nothing_is_left(
    answers: dict[str, str], message: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "output"
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(TEMPLATE_DIR), no_input=True, extra_context=answers, output_dir=str(output)
        )
    assert message in capfd.readouterr().err
    assert not output.exists() or list(output.iterdir()) == []


def hook_context(**answers: str) -> dict[str, object]:
    """The context cookiecutter renders the hooks with for `--no-input` and `answers`."""
    context: dict[str, object] = {}
    for name, value in OPTIONS.items():
        if name in answers:
            context[name] = answers[name]
        elif name in DEFAULTS:
            context[name] = DEFAULTS[name]
        elif isinstance(value, str):
            context[name] = JINJA.from_string(value).render(cookiecutter=context)
    return context


def render_hook(name: str, destination: Path, **answers: str) -> Path:
    template = JINJA.from_string((HOOKS_DIR / name).read_text())
    rendered = destination / name
    rendered.write_text(template.render(cookiecutter=hook_context(**answers)))
    return rendered


@pytest.mark.parametrize("hook", ["pre_gen_project.py", "post_gen_project.py"])
def test_rendered_hook_passes_ruff(hook: str, tmp_path: Path) -> None:
    rendered = render_hook(hook, tmp_path)
    for check in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *check, "--config", str(RUFF_CONFIG), str(rendered)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_post_gen_hook_is_idempotent(tmp_path: Path) -> None:
    # cruft runs the hooks again on every update, over files and directories that may already
    # be gone.
    answers = {"result_backend": "none", "examples": "no", "dead_letter_console": "no"}
    output = tmp_path / "output"
    project = Path(
        cookiecutter(
            str(TEMPLATE_DIR), no_input=True, extra_context=answers, output_dir=str(output)
        )
    )
    hook = render_hook("post_gen_project.py", tmp_path, **answers)
    subprocess.run([sys.executable, str(hook)], cwd=project, check=True)
    assert not (project / "tests" / "integration" / "test_result_backend.py").exists()
    assert not (project / "src" / "order_worker" / "tour").exists()
    assert not (project / "src" / "order_worker" / "console").exists()
    assert not (project / "tests" / "browser").exists()
