"""Renders the Helm chart offline (Helm's Go SDK through helm-python-sdk) into parsed objects."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from helm_python import Chart
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "helm" / "flink-remediator"
CI_VALUES = CHART_DIR / "ci" / "default-values.yaml"
RELEASE = "prod"
NAMESPACE = "flink-remediator"
FULLNAME = f"{RELEASE}-flink-remediator"


@cache
def chart() -> Chart:
    return Chart.load(CHART_DIR)


@dataclass(frozen=True)
class Rendered:
    objects: tuple[dict[str, Any], ...]
    notes: str

    def kinds(self) -> set[str]:
        return {obj["kind"] for obj in self.objects}

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [
            obj
            for obj in self.objects
            if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)
        ]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    @property
    def deployment(self) -> dict[str, Any]:
        return self.one("Deployment")

    @property
    def pod(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.deployment["spec"]["template"]["spec"]
        return spec

    @property
    def container(self) -> dict[str, Any]:
        containers = self.pod["containers"]
        assert len(containers) == 1
        container: dict[str, Any] = containers[0]
        return container

    @property
    def env(self) -> dict[str, str]:
        return {item["name"]: item.get("value", "") for item in self.container["env"]}

    def desired_state_text(self) -> str:
        text: str = self.one("ConfigMap", f"{FULLNAME}-config")["data"]["desired-state.yaml"]
        return text


def ci_values() -> dict[str, Any]:
    """helm/flink-remediator/ci/default-values.yaml: the defaults plus an image repository (the
    one value the chart cannot default)."""
    loaded: dict[str, Any] = YAML(typ="safe", pure=True).load(CI_VALUES.read_text())
    return loaded


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values files: maps deep, everything else replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def render(values: dict[str, Any] | None = None, ci: bool = True) -> Rendered:
    """The chart rendered with `values` over the CI values (`ci=False`: over nothing)."""
    given = merged(ci_values(), values or {}) if ci else values or {}
    manifests = chart().render(given, name=RELEASE, namespace=NAMESPACE)
    yaml = YAML(typ="safe", pure=True)
    objects: list[dict[str, Any]] = []
    notes = ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.load_all(io.StringIO(text)) if doc)
    return Rendered(tuple(objects), notes)


# Every optional object switched on, and most settings away from their defaults.
EVERYTHING_ON: dict[str, Any] = {
    "replicaCount": 2,
    "image": {"digest": "sha256:" + "ab" * 32},
    "imagePullSecrets": [{"name": "registry"}],
    "daemon": {
        "dryRun": False,
        "queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/flink-remediator-events",
        "dlqUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/flink-remediator-dlq",
        "region": "eu-west-1",
        "logFormat": "console",
        "shutdownGraceSeconds": 60,
        "terminationGraceMarginSeconds": 20,
        # 3 x 1200 s: the sweep-stale threshold of config/prometheus/alerts.yaml (1 h).
        "sweepIntervalSeconds": 1200,
    },
    "serviceAccount": {
        "roleArn": "arn:aws:iam::123456789012:role/flink-remediator",
        "annotations": {"eks.amazonaws.com/sts-regional-endpoints": "true"},
    },
    "podAnnotations": {"example.com/team": "data-platform"},
    "podLabels": {"team": "data-platform"},
    "extraEnv": [
        {"name": "AWS_CA_BUNDLE", "value": "/etc/ssl/corporate/ca.pem"},
        {"name": "FLINK_REMEDIATOR_WORKERS", "value": "16"},
    ],
    "envFrom": [{"configMapRef": {"name": "egress-proxy"}}],
    "extraVolumes": [{"name": "ca-bundle", "configMap": {"name": "corporate-ca"}}],
    "extraVolumeMounts": [
        {"name": "ca-bundle", "mountPath": "/etc/ssl/corporate", "readOnly": True}
    ],
    "commonLabels": {"cost-center": "data-platform"},
    "priorityClassName": "system-cluster-critical",
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}
    ],
    "affinity": {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {
                            "matchLabels": {"app.kubernetes.io/name": "flink-remediator"}
                        },
                    },
                }
            ],
        },
    },
    "topologySpreadConstraints": [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "flink-remediator"}},
        }
    ],
    "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "grafanaDashboard": {"enabled": True, "annotations": {"grafana_folder": "Flink"}},
    "networkPolicy": {
        "allowPodIdentityAgent": False,  # IRSA (serviceAccount.roleArn)
        "metricsFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}],
        "httpsEgressCidrs": ["10.20.0.0/16", "52.216.0.0/15"],
    },
}
