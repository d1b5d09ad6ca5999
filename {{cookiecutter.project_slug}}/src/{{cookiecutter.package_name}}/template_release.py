"""The template release this service was generated from, or last updated to: `cruft update`
rewrites this file with the rest of the template. The template's CHANGELOG.md says what each
release changed and what an updating team does; `.cruft.json` names the exact template commit."""

TEMPLATE_VERSION = "{{ cookiecutter._template_version }}"
