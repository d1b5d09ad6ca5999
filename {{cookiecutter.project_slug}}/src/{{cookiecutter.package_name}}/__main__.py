"""`python -m {{ cookiecutter.package_name }}`: the service's command line."""

from .cli import main

main()
