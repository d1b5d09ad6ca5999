"""Bake each option combination once per run, and install each generated project once."""

from pathlib import Path

import pytest
from pytest_cookies.plugin import Cookies

from .options import (
    CHAOS_COMBINATIONS,
    COMBINATIONS,
    DEFAULTS,
    INTEGRATION_COMBINATIONS,
    combination_id,
)
from .projects import BakedProject, GeneratedProject, bake, create_venv


class InstalledProjects:
    """Projects baked and installed on first request, then shared by the whole run."""

    def __init__(self, cookies: Cookies) -> None:
        self.cookies = cookies
        self.baked: dict[str, BakedProject] = {}
        self.installed: dict[str, GeneratedProject] = {}

    def bake(self, combination: dict[str, str]) -> BakedProject:
        key = combination_id(combination)
        if key not in self.baked:
            self.baked[key] = BakedProject(bake(self.cookies, **combination), combination)
        return self.baked[key]

    def get(self, combination: dict[str, str]) -> GeneratedProject:
        key = combination_id(combination)
        if key not in self.installed:
            path = self.bake(combination).path
            venv = create_venv(path, combination["python_version"])
            self.installed[key] = GeneratedProject(path, combination, venv)
        return self.installed[key]


@pytest.fixture(scope="session")
def installed_projects(cookies_session: Cookies) -> InstalledProjects:
    return InstalledProjects(cookies_session)


@pytest.fixture(scope="session", params=COMBINATIONS, ids=combination_id)
def baked(request: pytest.FixtureRequest, installed_projects: InstalledProjects) -> BakedProject:
    """Each option combination, baked."""
    return installed_projects.bake(request.param)


@pytest.fixture(scope="session", params=COMBINATIONS, ids=combination_id)
def generated(
    request: pytest.FixtureRequest, installed_projects: InstalledProjects
) -> GeneratedProject:
    """Each option combination, baked and installed."""
    return installed_projects.get(request.param)


@pytest.fixture(
    scope="session",
    params=INTEGRATION_COMBINATIONS,
    ids=combination_id,
)
def integrated(
    request: pytest.FixtureRequest, installed_projects: InstalledProjects
) -> GeneratedProject:
    """The combinations whose integration suites run (see `INTEGRATION_COMBINATIONS`)."""
    return installed_projects.get(request.param)


@pytest.fixture(
    scope="session",
    params=CHAOS_COMBINATIONS,
    ids=combination_id,
)
def chaos_tested(
    request: pytest.FixtureRequest, installed_projects: InstalledProjects
) -> GeneratedProject:
    """The combinations whose chaos suites run (see `CHAOS_COMBINATIONS`)."""
    return installed_projects.get(request.param)


@pytest.fixture(scope="session")
def default_project(installed_projects: InstalledProjects) -> GeneratedProject:
    """The project `cookiecutter --no-input` makes, installed."""
    return installed_projects.get(DEFAULTS)


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for every baked project. Incremental mode re-checks whatever differs between
    projects and reuses the libraries' analysis: 15 s a project becomes 2 s. Checked by hand: an
    error in a module, or in the unchanged caller of a changed signature, is still reported."""
    return tmp_path_factory.mktemp("mypy-cache")
