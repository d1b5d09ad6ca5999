"""Refuse answers that would generate a broken service, before anything is written.

Each rule prints one line naming the field and the rule; cookiecutter then removes
the half-made project directory.
"""

import keyword
import re
import sys

PROJECT_NAME = {{ cookiecutter.project_name | tojson }}
PROJECT_SLUG = {{ cookiecutter.project_slug | tojson }}
PACKAGE_NAME = {{ cookiecutter.package_name | tojson }}
AUTHOR_EMAIL = {{ cookiecutter.author_email | tojson }}

# Helm appends suffixes to release names and caps them at 53 characters; a
# DNS-1035 label (starts with a letter) is valid for every Kubernetes object.
SLUG_RULE = re.compile(r"^[a-z]([-a-z0-9]{0,51}[a-z0-9])?$")
PACKAGE_RULE = re.compile(r"^[a-z_][a-z0-9_]*$")
EMAIL_RULE = re.compile(r"^[^@\s]+@[^@\s]+$")

# Importing the service as one of these would shadow the real module.
DEPENDENCY_MODULES = frozenset(
    {
        "amqp",
        "billiard",
        "celery",
        "click",
        "kombu",
        "mypy",
        "prometheus_client",
        "pydantic",
        "pydantic_settings",
        "pytest",
        "redis",
        "ruff",
        "tests",
        "vine",
    }
)


def problems() -> list[str]:
    """Return one message per violated rule, in field order."""
    found = []
    if not PROJECT_NAME.strip():
        found.append("project_name: must not be empty")
    if not SLUG_RULE.match(PROJECT_SLUG):
        found.append(
            f"project_slug: {PROJECT_SLUG!r} must be a Kubernetes name: lowercase "
            "letters, digits and '-', starting with a letter, not ending with '-', "
            "at most 53 characters"
        )
    if not PACKAGE_RULE.match(PACKAGE_NAME):
        found.append(
            f"package_name: {PACKAGE_NAME!r} must be a Python identifier of lowercase "
            "letters, digits and '_', not starting with a digit"
        )
    elif keyword.iskeyword(PACKAGE_NAME) or keyword.issoftkeyword(PACKAGE_NAME):
        found.append(f"package_name: {PACKAGE_NAME!r} is a Python keyword")
    elif PACKAGE_NAME in DEPENDENCY_MODULES or PACKAGE_NAME in sys.stdlib_module_names:
        found.append(
            f"package_name: {PACKAGE_NAME!r} would shadow the module of that name "
            "(a dependency or the standard library); choose another"
        )
    if not EMAIL_RULE.match(AUTHOR_EMAIL):
        found.append(f"author_email: {AUTHOR_EMAIL!r} is not an email address")
    return found


def main() -> int:
    messages = problems()
    for message in messages:
        print(f"error: {message}", file=sys.stderr)
    return 1 if messages else 0


if __name__ == "__main__":
    sys.exit(main())
