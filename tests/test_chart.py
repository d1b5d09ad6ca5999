"""The generated Helm chart lints, renders and validates for every meaningful set of values.

Rendering and linting run Helm's own code (helm-python-sdk), offline. Every rendered manifest is
validated strictly against the Kubernetes 1.30 schemas; KEDA's ScaledObject and the Prometheus
operator's ServiceMonitor and PrometheusRule are custom resources, checked against the fields their
projects document.
"""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
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
    shutdown_grace,
)
from .projects import BakedProject

KUBERNETES_VERSION = "1.30.0"
RELEASE = "orders"
NAMESPACE = "jobs"

Values = dict[str, Any]
Manifest = dict[str, Any]


def connection_urls(combination: dict[str, str]) -> dict[str, str]:
    broker = {
        "rabbitmq": "amqp://orders:s3cret@rabbitmq:5672/orders",
        "redis": "redis://:s3cret@redis:6379/0",
    }[combination["broker"]]
    urls = {
        "CELERY_BROKER_URL": broker,
        "DEAD_LETTER_REDIS_URL": "redis://:s3cret@redis:6379/2",
        "IDEMPOTENCY_REDIS_URL": "redis://:s3cret@redis:6379/3",
    }
    if combination["result_backend"] == "redis":
        urls["CELERY_RESULT_BACKEND"] = "redis://:s3cret@redis:6379/1"
    return urls


def autoscaling(combination: dict[str, str]) -> Values:
    values: Values = {"enabled": True, "minReplicas": 0, "maxReplicas": 5}
    if combination["broker"] == "redis":
        values["redis"] = {"address": "redis:6379", "databaseIndex": 0, "passwordFromEnv": ""}
    return values


def without_beat(combination: dict[str, str]) -> Values:
    """Values that switch beat off, in a chart that has it."""
    return {"beat": {"enabled": False}} if has_beat(combination) else {}


def with_console(combination: dict[str, str]) -> Values:
    """Values that switch the console on, in a chart that has it."""
    enabled = {"enabled": True, "existingSecret": "orders-console-tokens"}
    return {"console": enabled} if has_console(combination) else {}


EXISTING_SECRET: Values = {"secret": {"existingSecret": "orders-connections"}}
MONITORED: Values = {
    "metrics": {
        "enabled": True,
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
        "grafanaDashboard": {"enabled": True, "annotations": {"grafana_folder": "Workers"}},
    }
}
# Every value of a real production release at once.
EVERYTHING: Values = {
    **MONITORED,
    "config": {"CELERY_TASK_TIME_LIMIT": "900"},
    "image": {"repository": "registry.example.com/orders", "tag": "1.4.2", "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "registry"}],
    "serviceAccount": {"create": False, "name": "orders", "annotations": {}},
    "podAnnotations": {"example.com/team": "payments"},
    "podLabels": {"team": "payments"},
    "nodeSelector": {"kubernetes.io/arch": "amd64"},
    "tolerations": [{"key": "workers", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {"app.kubernetes.io/instance": RELEASE}},
                    },
                }
            ]
        }
    },
}

VALUE_SETS: dict[str, Callable[[dict[str, str]], Values]] = {
    "own-secret": lambda combination: {"secret": {"values": connection_urls(combination)}},
    "existing-secret": lambda _: EXISTING_SECRET,
    "autoscaled": lambda combination: {**EXISTING_SECRET, "autoscaling": autoscaling(combination)},
    "monitored": lambda _: {**EXISTING_SECRET, **MONITORED},
    "without-beat": lambda combination: {**EXISTING_SECRET, **without_beat(combination)},
    "console": lambda combination: {**EXISTING_SECRET, **with_console(combination)},
    "everything": lambda combination: {
        **EVERYTHING,
        "secret": {"values": connection_urls(combination)},
        "autoscaling": autoscaling(combination),
    },
}

# The fields KEDA documents for a ScaledObject (keda.sh/docs/2.16/reference/scaledobject-spec)
# and for the RabbitMQ and Redis-list scalers. Every metadata value must be a string.
RABBITMQ_METADATA = [
    "host",
    "hostFromEnv",
    "protocol",
    "queueName",
    "mode",
    "value",
    "activationValue",
    "vhostName",
    "usernameFromEnv",
    "passwordFromEnv",
]
REDIS_METADATA = [
    "address",
    "addressFromEnv",
    "host",
    "hostFromEnv",
    "port",
    "portFromEnv",
    "usernameFromEnv",
    "passwordFromEnv",
    "listName",
    "listLength",
    "activationListLength",
    "databaseIndex",
    "enableTLS",
]


def trigger_schema(kind: str, metadata: list[str], required: list[str]) -> dict[str, Any]:
    return {
        "if": {"properties": {"type": {"const": kind}}},
        "then": {
            "properties": {
                "metadata": {
                    "propertyNames": {"enum": metadata},
                    "required": required,
                }
            }
        },
    }


SCALED_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "envSourceContainerName": {"type": "string"},
                    },
                },
                **{
                    field: {"type": "integer", "minimum": 0}
                    for field in (
                        "pollingInterval",
                        "cooldownPeriod",
                        "initialCooldownPeriod",
                        "idleReplicaCount",
                        "minReplicaCount",
                        "maxReplicaCount",
                    )
                },
                "fallback": {"type": "object"},
                "advanced": {"type": "object"},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"enum": ["rabbitmq", "redis"]},
                            "name": {"type": "string"},
                            "metadata": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                            "authenticationRef": {"type": "object"},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                        },
                        "allOf": [
                            trigger_schema("rabbitmq", RABBITMQ_METADATA, ["queueName", "value"]),
                            trigger_schema("redis", REDIS_METADATA, ["listName"]),
                        ],
                    },
                },
            },
        },
    },
}

# The fields prometheus-operator documents for a ServiceMonitor (monitoring.coreos.com/v1).
SERVICE_MONITOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                        "matchExpressions": {"type": "array"},
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": {"type": "string", "pattern": "^([0-9]+(ms|s|m|h))+$"},
                            "scrapeTimeout": {"type": "string"},
                            "scheme": {"enum": ["http", "https"]},
                            "relabelings": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "sourceLabels": {
                                            "type": "array",
                                            "items": {"type": "string"},
                                        },
                                        "separator": {"type": "string"},
                                        "targetLabel": {"type": "string"},
                                        "regex": {"type": "string"},
                                        "modulus": {"type": "integer"},
                                        "replacement": {"type": "string"},
                                        "action": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                },
                "namespaceSelector": {"type": "object"},
                "jobLabel": {"type": "string"},
                "targetLabels": {"type": "array"},
                "podTargetLabels": {"type": "array"},
            },
        },
    },
}

# The fields prometheus-operator documents for a PrometheusRule (monitoring.coreos.com/v1), which
# are Prometheus' own rule-file fields under `spec`.
PROMETHEUS_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["groups"],
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "rules"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": {"type": "string"},
                            "query_offset": {"type": "string"},
                            "limit": {"type": "integer"},
                            "partial_response_strategy": {"type": "string"},
                            "labels": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                            "rules": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["expr"],
                                    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
                                    "properties": {
                                        "alert": {"type": "string"},
                                        "record": {"type": "string"},
                                        "expr": {"type": "string", "minLength": 1},
                                        "for": {
                                            "type": "string",
                                            "pattern": "^([0-9]+(ms|s|m|h))+$",
                                        },
                                        "keep_firing_for": {"type": "string"},
                                        "labels": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                        "annotations": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                }
            },
        },
    },
}

CUSTOM_RESOURCE_SCHEMAS = {
    "ScaledObject": SCALED_OBJECT_SCHEMA,
    "ServiceMonitor": SERVICE_MONITOR_SCHEMA,
    "PrometheusRule": PROMETHEUS_RULE_SCHEMA,
}


def chart_dir(project: BakedProject) -> Path:
    return project.path / "chart"


def render(project: BakedProject, values: Values) -> list[Manifest]:
    """The chart's manifests for `values`: every YAML document of every template but NOTES.txt."""
    with helm_python.Chart.load(chart_dir(project)) as chart:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    return [
        document
        for path, text in rendered.items()
        if not path.endswith("NOTES.txt")
        for document in yaml.safe_load_all(text)
        if document
    ]


def kinds(manifests: list[Manifest]) -> list[str]:
    return sorted(manifest["kind"] for manifest in manifests)


# `only`'s component for objects of the whole release, which have no component label.
SETTINGS = ""


def only(manifests: list[Manifest], kind: str, component: str | None = None) -> Manifest:
    """The one manifest of `kind` (of `component`, by its app.kubernetes.io/component label;
    SETTINGS: the one without)."""
    (found,) = (
        manifest
        for manifest in manifests
        if manifest["kind"] == kind
        and component
        in (None, manifest["metadata"]["labels"].get("app.kubernetes.io/component", SETTINGS))
    )
    return found


def container(deployment: Manifest) -> dict[str, Any]:
    (found,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(found)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_chart_lints_strictly(baked: BakedProject, value_set: str) -> None:
    values = VALUE_SETS[value_set](baked.combination)
    report = helm_python.lint(
        chart_dir(baked), values, strict=True, kube_version=KUBERNETES_VERSION
    )
    assert report["errors"] == []
    # Severity 2 is a warning, 3 an error; 1 is advice such as "icon is recommended".
    assert [message for message in report["messages"] if message["severity"] >= 2] == []


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_manifest_validates(baked: BakedProject, value_set: str) -> None:
    for manifest in render(baked, VALUE_SETS[value_set](baked.combination)):
        schema = CUSTOM_RESOURCE_SCHEMAS.get(manifest["kind"])
        if schema is None:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        else:
            jsonschema.Draft7Validator(schema).validate(manifest)


# The Service lists the workers' metrics endpoints (metrics.enabled is on by default).
BASICS = [
    "ConfigMap",
    "Deployment",
    "Deployment",
    "PodDisruptionBudget",
    "PodDisruptionBudget",
    "Service",
]


@pytest.mark.parametrize(
    ("value_set", "added"),
    [
        ("existing-secret", ["ServiceAccount"]),
        ("own-secret", ["Secret", "ServiceAccount"]),
        ("autoscaled", ["ScaledObject", "ServiceAccount"]),
        (
            "monitored",
            ["ConfigMap", "PrometheusRule", "ServiceAccount", "ServiceMonitor"],
        ),
        (
            "everything",
            ["ConfigMap", "PrometheusRule", "ScaledObject", "Secret", "ServiceMonitor"],
        ),
        ("without-beat", ["ServiceAccount"]),
        ("console", ["ServiceAccount"]),
    ],
)
def test_each_option_adds_its_objects(
    baked: BakedProject, value_set: str, added: list[str]
) -> None:
    manifests = render(baked, VALUE_SETS[value_set](baked.combination))
    # Beat's Deployment, on by default where the service was generated with scheduled replay.
    beat = ["Deployment"] if has_beat(baked.combination) and value_set != "without-beat" else []
    # The console's Deployment and Service, off by default, where the service has a console.
    console = ["Deployment", "Service"] if with_console(baked.combination) else []
    console = console if value_set == "console" else []
    assert kinds(manifests) == sorted(BASICS + added + beat + console)


def test_workers_run_the_readme_commands(baked: BakedProject) -> None:
    manifests = render(baked, EXISTING_SECRET)
    for component, command in readme_commands(baked.path).items():
        worker = container(only(manifests, "Deployment", component))
        # args, not command: the image's entrypoint (tini) stays in front of Celery.
        assert "command" not in worker
        assert worker["args"] == command


def test_probes_read_the_health_files(baked: BakedProject) -> None:
    probe = ["python", "-m", f"{package_name(baked.path)}.health"]
    manifests = render(baked, EXISTING_SECRET)
    for component in (WORKER, DLQ_WORKER):
        worker = container(only(manifests, "Deployment", component))
        assert worker["livenessProbe"]["exec"]["command"] == [*probe, "liveness"]
        assert worker["readinessProbe"]["exec"]["command"] == [*probe, "readiness"]
        assert worker["startupProbe"]["exec"]["command"] == [*probe, "readiness"]


def test_pods_meet_the_restricted_security_standard(baked: BakedProject) -> None:
    beat = [BEAT] if has_beat(baked.combination) else []
    console = [CONSOLE] if has_console(baked.combination) else []
    manifests = render(baked, VALUE_SETS["console"](baked.combination))
    for component in (WORKER, DLQ_WORKER, *beat, *console):
        deployment = only(manifests, "Deployment", component)
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        worker = container(deployment)
        assert worker["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        # The only writable path, where the health files live.
        assert worker["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
        assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
        assert worker["resources"]["requests"]
        assert worker["resources"]["limits"]["memory"]


def test_beat_is_one_pod_at_a_time_without_worker_probes(baked: BakedProject) -> None:
    manifests = render(baked, EXISTING_SECRET)
    command = readme_beat_command(baked.path)
    if not has_beat(baked.combination):
        assert command is None
        assert kinds(manifests).count("Deployment") == 2
        with pytest.raises(helm_python.HelmValuesError, match="'beat' not allowed"):
            render(baked, {**EXISTING_SECRET, "beat": {"enabled": True}})
        return
    deployment = only(manifests, "Deployment", BEAT)
    # Two beats would publish every scheduled run twice: one replica, replaced, never rolled.
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    beat = container(deployment)
    assert beat["args"] == command
    # Beat keeps no heartbeat file: the workers' probes would always fail it.
    assert not {"livenessProbe", "readinessProbe", "startupProbe"} & set(beat)
    budgets = [m for m in manifests if m["kind"] == "PodDisruptionBudget"]
    assert {m["metadata"]["labels"]["app.kubernetes.io/component"] for m in budgets} == {
        WORKER,
        DLQ_WORKER,
    }
    assert "checksum/config" in deployment["spec"]["template"]["metadata"]["annotations"]
    with pytest.raises(helm_python.HelmValuesError, match="'replicas' not allowed"):
        render(baked, {**EXISTING_SECRET, "beat": {"replicas": 2}})


def test_console_is_off_by_default_and_one_probed_pod_with_its_own_secret(
    baked: BakedProject,
) -> None:
    labels = [manifest["metadata"]["labels"] for manifest in render(baked, EXISTING_SECRET)]
    assert CONSOLE not in {label.get("app.kubernetes.io/component") for label in labels}
    if not has_console(baked.combination):
        with pytest.raises(helm_python.HelmValuesError, match="'console' not allowed"):
            render(baked, {**EXISTING_SECRET, "console": {"enabled": True}})
        return
    manifests = render(baked, VALUE_SETS["console"](baked.combination))
    deployment = only(manifests, "Deployment", CONSOLE)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    console = container(deployment)
    package = package_name(baked.path)
    assert console["args"] == ["python", "-m", package, "console", "--host=0.0.0.0", "--port=8000"]
    assert console["ports"] == [{"name": "http", "containerPort": 8000}]
    assert console["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert console["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    sources = console["envFrom"]
    secrets = [source["secretRef"]["name"] for source in sources if "secretRef" in source]
    assert secrets == ["orders-connections", "orders-console-tokens"]
    service = only(manifests, "Service", CONSOLE)
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http"}]
    with pytest.raises(helm_python.HelmError, match=r"console\.existingSecret is empty"):
        render(baked, {**EXISTING_SECRET, "console": {"enabled": True}})


def test_health_dir_default_is_on_the_writable_volume(baked: BakedProject) -> None:
    assert str(setting_default(baked.path, "health_dir")).startswith("/tmp/")


def test_grace_period_follows_the_time_limit_as_the_service_derives_it(
    baked: BakedProject,
) -> None:
    default = setting_default(baked.path, "celery_task_time_limit")
    assert isinstance(default, int)
    for values, time_limit in (
        (EXISTING_SECRET, default),
        ({**EXISTING_SECRET, **EVERYTHING}, 900),
    ):
        manifests = render(baked, values)
        settings = only(manifests, "ConfigMap", SETTINGS)
        assert settings["data"]["CELERY_TASK_TIME_LIMIT"] == str(time_limit)
        for component in (WORKER, DLQ_WORKER):
            pod = only(manifests, "Deployment", component)["spec"]["template"]["spec"]
            assert pod["terminationGracePeriodSeconds"] == shutdown_grace(baked.path, time_limit)


def test_disruption_budgets_never_block_a_drain(baked: BakedProject) -> None:
    manifests = render(baked, EXISTING_SECRET)
    for component in (WORKER, DLQ_WORKER):
        budget = only(manifests, "PodDisruptionBudget", component)["spec"]
        assert budget["maxUnavailable"] == 1
        assert "minAvailable" not in budget
        deployment = only(manifests, "Deployment", component)
        assert budget["selector"] == deployment["spec"]["selector"]


def test_keda_owns_only_the_main_workers_replicas(baked: BakedProject) -> None:
    manifests = render(baked, VALUE_SETS["autoscaled"](baked.combination))
    scaled = only(manifests, "ScaledObject")
    worker = only(manifests, "Deployment", WORKER)
    assert scaled["spec"]["scaleTargetRef"] == {"name": worker["metadata"]["name"]}
    assert "replicas" not in worker["spec"]
    assert only(manifests, "Deployment", DLQ_WORKER)["spec"]["replicas"] == 1
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == baked.combination["broker"]
    queue = trigger["metadata"].get("queueName") or trigger["metadata"].get("listName")
    assert queue == "default"


def test_config_changes_roll_the_workers(baked: BakedProject) -> None:
    def annotations(values: Values) -> dict[str, str]:
        pod = only(render(baked, values), "Deployment", WORKER)["spec"]["template"]
        return dict(pod["metadata"]["annotations"])

    own_secret = VALUE_SETS["own-secret"](baked.combination)
    before = annotations(own_secret)
    assert set(before) == {"checksum/config", "checksum/secret"}
    assert annotations({**own_secret, "config": {"HTTP_TIMEOUT": "5"}}) != before
    assert "checksum/secret" not in annotations(EXISTING_SECRET)


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({"workers": {"replicas": 3}}, "additional properties 'workers' not allowed"),
        ({"worker": {"replica": 3}}, "additional properties 'replica' not allowed"),
        ({"probes": {"liveness": {"periodSeconds": "10"}}}, "got string, want integer"),
        ({"config": {"CELERY_TASK_TIME_LIMIT": "soon"}}, "does not match pattern"),
        ({"config": {"CELERY_TASK_TIME_LIMIT": 3600}}, "maximum: got 3,600, want 1,500"),
        ({"config": {"celery_task_time_limit": "600"}}, "invalid propertyName"),
        ({"config": {"HEALTH_DIR": "/var/health"}}, "does not match pattern '^/tmp/'"),
        ({"autoscaling": {"enabled": "yes"}}, "got string, want boolean"),
        # One value for the served port and the pod's: metrics.port.
        ({"config": {"METRICS_PORT": "9100"}}, "at '/config/METRICS_PORT': 'not' failed"),
        (
            {"metrics": {"prometheusRule": {"enabled": True, "label": {}}}},
            "additional properties 'label' not allowed",
        ),
    ],
)
def test_schema_refuses_bad_values(baked: BakedProject, values: Values, refusal: str) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=re.escape(refusal)):
        render(baked, {**EXISTING_SECRET, **values})


def test_chart_has_no_default_credentials(baked: BakedProject) -> None:
    with pytest.raises(helm_python.HelmRenderError, match="the chart has no default credentials"):
        render(baked, {})


def chart_file(project: BakedProject, name: str) -> str:
    return (chart_dir(project) / "files" / name).read_text()


def test_prometheus_rule_is_the_repositorys_rules_file(baked: BakedProject) -> None:
    manifests = render(baked, VALUE_SETS["monitored"](baked.combination))
    rule = only(manifests, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"] == yaml.safe_load(chart_file(baked, "prometheus-rules.yaml"))
    # Helm left the alerts' own templates for Prometheus to expand.
    descriptions = [
        r["annotations"]["description"] for g in rule["spec"]["groups"] for r in g["rules"]
    ]
    assert any("{{ $labels.name }}" in description for description in descriptions)


def test_dashboard_config_map_is_the_repositorys_dashboard(baked: BakedProject) -> None:
    manifests = render(baked, VALUE_SETS["monitored"](baked.combination))
    config_map = only(manifests, "ConfigMap", "dashboard")
    # What Grafana's dashboard sidecar looks for.
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Workers"}
    (text,) = config_map["data"].values()
    assert json.loads(text) == json.loads(chart_file(baked, "grafana-dashboard.json"))


@pytest.mark.parametrize("part", ["prometheusRule", "grafanaDashboard"])
def test_rules_and_dashboard_need_the_workers_metrics(baked: BakedProject, part: str) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=f"metrics.{part}.enabled needs"):
        render(baked, {**EXISTING_SECRET, "metrics": {"enabled": False, part: {"enabled": True}}})


def test_scrape_targets_carry_the_label_the_rules_select(baked: BakedProject) -> None:
    manifests = render(baked, VALUE_SETS["monitored"](baked.combination))
    (endpoint,) = only(manifests, "ServiceMonitor")["spec"]["endpoints"]
    relabelings = {relabeling["targetLabel"]: relabeling for relabeling in endpoint["relabelings"]}
    service = baked.path.name
    assert relabelings["celery_service"]["replacement"] == service
    assert f'celery_service="{service}"' in chart_file(baked, "prometheus-rules.yaml")
    component = "__meta_kubernetes_pod_label_app_kubernetes_io_component"
    assert relabelings["component"]["sourceLabels"] == [component]


def test_workers_serve_metrics_on_the_port_their_pods_open(baked: BakedProject) -> None:
    values = yaml.safe_load((chart_dir(baked) / "values.yaml").read_text())
    assert values["metrics"]["port"] == setting_default(baked.path, "metrics_port")
    moved = {**EXISTING_SECRET, "metrics": {"port": 9900}}
    disabled = {**EXISTING_SECRET, "metrics": {"enabled": False}}
    for settings, port in ((EXISTING_SECRET, 9808), (moved, 9900), (disabled, 0)):
        manifests = render(baked, settings)
        for component in (WORKER, DLQ_WORKER):
            worker = container(only(manifests, "Deployment", component))
            environment = {variable["name"]: variable["value"] for variable in worker["env"]}
            assert environment["METRICS_PORT"] == str(port)
            expected = [{"name": "metrics", "containerPort": port}] if port else None
            assert worker.get("ports") == expected
    service = only(render(baked, moved), "Service", "metrics")
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 9900, "targetPort": "metrics"}]
