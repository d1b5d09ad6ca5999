"""compose.yaml is valid for each broker, runs both workers (and beat, with scheduled replay) as
the README does, and has no default credentials. Its `observability` profile runs Prometheus and
Grafana with the chart's alert rules and dashboard.

`docker-compose config` (Debian's docker-compose, which scripts/test installs) validates and
resolves the file without a Docker engine. A compose.yaml is the same for every Python version,
so each distinct file is resolved once per run.
"""

import functools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from .deployment import (
    BEAT,
    CONSOLE,
    DLQ_WORKER,
    WORKER,
    has_beat,
    has_console,
    package_name,
    readme_beat_command,
    readme_commands,
    setting_default,
    settings_constant,
    shutdown_grace,
)
from .projects import BakedProject

DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


# The observability profile's services and the images they pin.
OBSERVABILITY = {"prometheus": "prom/prometheus", "grafana": "grafana/grafana"}


def docker_compose() -> str:
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail(
            "docker-compose is needed to validate compose.yaml: scripts/test installs it when "
            "run as root; otherwise run `sudo apt-get install docker-compose`",
            pytrace=False,
        )
    return executable


def promtool() -> str:
    executable = shutil.which("promtool")
    if executable is None:
        pytest.fail(
            "promtool is needed to check compose's Prometheus config: scripts/test installs it "
            "when run as root; otherwise run `sudo apt-get install prometheus`",
            pytrace=False,
        )
    return executable


@functools.cache
def resolve(compose: str, env: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` for a compose file with `env` as the .env beside it."""
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "compose.yaml").write_text(compose)
        Path(directory, ".env").write_text(env)
        return subprocess.run(
            [docker_compose(), "config"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def example_env(project: BakedProject, **changes: str | None) -> str:
    """The project's .env.example with `changes` applied; None removes a variable."""
    variables = dict(
        line.split("=", 1)
        for line in (project.path / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name, value in changes.items():
        if value is None:
            variables.pop(name, None)
        else:
            variables[name] = value
    return "".join(f"{name}={value}\n" for name, value in variables.items())


def services(project: BakedProject, **changes: str | None) -> dict[str, Any]:
    result = resolve((project.path / "compose.yaml").read_text(), example_env(project, **changes))
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    return resolved


def seconds(duration: str) -> int:
    match = DURATION.fullmatch(duration)
    assert duration, "an empty duration"
    assert match, f"not a duration: {duration!r}"
    hours, minutes, secs = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + secs


def assert_read_only_after_healthy_dependencies(running: dict[str, Any], name: str) -> None:
    """As in the chart: a read-only root with /tmp writable; and `name` starts only once every
    service it depends on passes its health check."""
    service = running[name]
    assert service["read_only"] is True
    assert service["tmpfs"] == ["/tmp"]
    for dependency, condition in service["depends_on"].items():
        assert condition == {"condition": "service_healthy"}
        assert running[dependency]["healthcheck"]["test"]


def test_compose_runs_the_broker_redis_and_both_workers(baked: BakedProject) -> None:
    running = services(baked)
    brokers = {"rabbitmq"} if baked.combination["broker"] == "rabbitmq" else set()
    # Beat only when something runs on a schedule.
    beat = {BEAT} if has_beat(baked.combination) else set()
    console = {CONSOLE} if has_console(baked.combination) else set()
    observability = set(OBSERVABILITY)
    assert set(running) == (
        brokers | beat | console | observability | {"redis", WORKER, DLQ_WORKER, "flower"}
    )
    assert running["flower"]["profiles"] == ["flower"]
    for name in observability:
        assert running[name]["profiles"] == ["observability"]
    assert "profiles" not in running[WORKER]
    assert "profiles" not in running[DLQ_WORKER]


def test_workers_run_the_readme_commands(baked: BakedProject) -> None:
    running = services(baked)
    for worker, command in readme_commands(baked.path).items():
        assert running[worker]["command"] == command


def test_beat_runs_the_readme_command_once_without_the_workers_health_check(
    baked: BakedProject,
) -> None:
    running = services(baked)
    command = readme_beat_command(baked.path)
    assert (command is not None) is has_beat(baked.combination)
    if command is None:
        return
    beat = running[BEAT]
    assert beat["command"] == command
    # One beat: no replicas or scale, which would make every scheduled run happen twice.
    assert "deploy" not in beat
    assert "scale" not in beat
    # Beat keeps no heartbeat file: the workers' liveness check would always fail it.
    assert beat["healthcheck"] in ({"disable": True}, {"test": ["NONE"]})
    assert_read_only_after_healthy_dependencies(running, BEAT)


def test_console_profile_serves_on_localhost_only_once_its_stores_are_healthy(
    baked: BakedProject,
) -> None:
    running = services(baked)
    if not has_console(baked.combination):
        assert CONSOLE not in running
        return
    console = running[CONSOLE]
    assert console["profiles"] == ["console"]
    package = package_name(baked.path)
    serve = ["console", "--host=0.0.0.0", "--port=8000"]
    assert console["command"] == ["python", "-m", package, *serve]
    assert console["ports"] == ["127.0.0.1:8000:8000/tcp"]
    assert "/healthz" in " ".join(console["healthcheck"]["test"])
    assert console["environment"] == running[WORKER]["environment"]
    assert_read_only_after_healthy_dependencies(running, CONSOLE)


def test_workers_are_health_checked_and_wait_for_healthy_dependencies(
    baked: BakedProject,
) -> None:
    running = services(baked)
    liveness = ["CMD", "python", "-m", f"{package_name(baked.path)}.health", "liveness"]
    for worker in (WORKER, DLQ_WORKER):
        service = running[worker]
        assert service["healthcheck"]["test"] == liveness
        assert_read_only_after_healthy_dependencies(running, worker)


def test_workers_reach_the_services_compose_starts(baked: BakedProject) -> None:
    running = services(baked)
    broker = baked.combination["broker"]
    environment = running[WORKER]["environment"]
    assert urlsplit(environment["CELERY_BROKER_URL"]).hostname == broker
    assert urlsplit(environment["DEAD_LETTER_REDIS_URL"]).hostname == "redis"
    assert urlsplit(environment["IDEMPOTENCY_REDIS_URL"]).hostname == "redis"
    if baked.combination["result_backend"] == "redis":
        assert urlsplit(environment["CELERY_RESULT_BACKEND"]).hostname == "redis"


def test_stop_grace_period_outlasts_any_time_limit_the_service_accepts(
    baked: BakedProject,
) -> None:
    longest_limit = settings_constant(baked.path, "MAX_TASK_TIME_LIMIT")
    assert isinstance(longest_limit, int)
    running = services(baked)
    for worker in (WORKER, DLQ_WORKER):
        assert seconds(running[worker]["stop_grace_period"]) == shutdown_grace(
            baked.path, longest_limit
        )


def test_redis_keeps_an_append_only_file(baked: BakedProject) -> None:
    command = services(baked)["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_compose_has_no_default_credentials(baked: BakedProject) -> None:
    compose = (baked.path / "compose.yaml").read_text()
    assert "guest" not in compose
    credentials = ["REDIS_PASSWORD"]
    if baked.combination["broker"] == "rabbitmq":
        credentials += ["RABBITMQ_USER", "RABBITMQ_PASSWORD"]
    for name in credentials:
        result = resolve(compose, example_env(baked, **{name: None}))
        assert result.returncode != 0
        assert f"set {name} in .env" in result.stderr


def bind_mounts(project: BakedProject, service: str) -> dict[str, Path]:
    """Each file `service` mounts from the project, by where it appears in the container."""
    compose = yaml.safe_load((project.path / "compose.yaml").read_text())
    mounts = {}
    for volume in compose["services"][service]["volumes"]:
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounts[target] = project.path / source
    return mounts


def test_observability_profile_runs_pinned_images_on_localhost_only(baked: BakedProject) -> None:
    running = services(baked)
    for name, repository in OBSERVABILITY.items():
        image, tag = running[name]["image"].split(":")
        assert image == repository
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name} is not pinned to a version: {tag}"
        assert running[name]["ports"]
        assert all(port.startswith("127.0.0.1:") for port in running[name]["ports"])


def test_prometheus_scrapes_both_workers_and_loads_the_charts_rules(
    baked: BakedProject, tmp_path: Path
) -> None:
    mounts = bind_mounts(baked, "prometheus")
    config_file = mounts["/etc/prometheus/prometheus.yml"]
    config = yaml.safe_load(config_file.read_text())
    # The same rules file as the chart's PrometheusRule.
    (rules_path,) = config["rule_files"]
    assert mounts[rules_path] == baked.path / "chart" / "files" / "prometheus-rules.yaml"
    (job,) = config["scrape_configs"]
    (discovery,) = job["dns_sd_configs"]
    assert set(discovery["names"]) == {WORKER, DLQ_WORKER}
    assert discovery["port"] == setting_default(baked.path, "metrics_port")
    # The label every alert rule selects the service by.
    labels = {relabel["target_label"]: relabel for relabel in job["relabel_configs"]}
    service = baked.path.name
    assert labels["celery_service"]["replacement"] == service
    assert f'celery_service="{service}"' in mounts[rules_path].read_text()
    # promtool checks the config with the rules file where the container finds it.
    checked = tmp_path / "prometheus.yml"
    checked.write_text(config_file.read_text().replace(rules_path, str(mounts[rules_path])))
    result = subprocess.run(
        [promtool(), "check", "config", str(checked)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_shows_the_charts_dashboard_from_compose_prometheus(baked: BakedProject) -> None:
    mounts = bind_mounts(baked, "grafana")
    dashboards = [path for target, path in mounts.items() if target.endswith(".json")]
    assert dashboards == [baked.path / "chart" / "files" / "grafana-dashboard.json"]
    (dashboard_target,) = (target for target in mounts if target.endswith(".json"))
    (providers,) = (
        path for target, path in mounts.items() if "/provisioning/dashboards/" in target
    )
    (provider,) = yaml.safe_load(providers.read_text())["providers"]
    assert Path(dashboard_target).parent == Path(provider["options"]["path"])
    (sources,) = (path for target, path in mounts.items() if "/provisioning/datasources/" in target)
    (source,) = yaml.safe_load(sources.read_text())["datasources"]
    assert source["type"] == "prometheus"
    assert urlsplit(source["url"]).hostname == "prometheus"
    environment = services(baked)["grafana"]["environment"]
    assert environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == dashboard_target
    # No login, and so no default admin password: anonymous viewers only.
    assert environment["GF_AUTH_DISABLE_LOGIN_FORM"] == "true"
    assert environment["GF_AUTH_BASIC_ENABLED"] == "false"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
