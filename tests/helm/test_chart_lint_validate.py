"""The chart lints clean in strict mode, every core manifest is valid Kubernetes for current
versions (offline schemas), and the values schema turns bad values away before rendering."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
from helm_python import HelmValuesError, lint

from tests.helm.chart import CHART_DIR, EVERYTHING_ON, ci_values, merged, render

VALUE_SETS = {"ci": ci_values(), "everything-on": merged(ci_values(), EVERYTHING_ON)}
# The oldest Kubernetes version EKS still supports as standard, and the newest schemas we have.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
# Prometheus Operator CRDs: kubernetes-validate has no schemas for them (tests/helm checks them
# structurally and with promtool instead). Any other kind must validate.
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_strict_lint_is_clean(values: dict[str, Any]) -> None:
    report = lint(CHART_DIR, values, strict=True)
    problems = [message for message in report["messages"] if message["severity"] >= 2]
    assert report["errors"] == []
    assert problems == []


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_core_manifests_validate_against_kubernetes(values: dict[str, Any], version: str) -> None:
    rendered = render(values)
    validated = []
    for obj in rendered.objects:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(obj, version, strict=True)
        validated.append(obj["kind"])
    assert {"Deployment", "Service", "ServiceAccount", "ConfigMap"} <= set(validated)


def test_validation_catches_a_broken_manifest() -> None:
    # Guards the test above against a validator that accepts anything.
    deployment = render().deployment
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRot"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


BAD_VALUES = {
    "unknown top-level key": {"replicas": 2},
    "unknown daemon key": {"daemon": {"dry_run": True}},
    "dry-run as a string": {"daemon": {"dryRun": "yes"}},
    "log format": {"daemon": {"logFormat": "xml"}},
    "negative replicas": {"replicaCount": -1},
    "metrics port": {"daemon": {"metricsPort": 70000}},
    "shutdown grace zero": {"daemon": {"shutdownGraceSeconds": 0}},
    "queue url not https": {"daemon": {"queueUrl": "sqs://queue"}},
    "region": {"daemon": {"region": "Europe"}},
    "role arn": {"serviceAccount": {"roleArn": "flink-remediator"}},
    "digest": {"image": {"digest": "latest"}},
    "pull policy": {"image": {"pullPolicy": "Sometimes"}},
    "extra env without name": {"extraEnv": [{"value": "x"}]},
    "extra env bad key": {"extraEnv": [{"name": "A", "valu": "x"}]},
    "memory quantity": {"resources": {"limits": {"memory": "lots"}}},
    "scrape interval": {"serviceMonitor": {"interval": "30 seconds"}},
    "service type": {"service": {"type": "ExternalName"}},
    "config not a map": {"config": "version: 1"},
    "probe period": {"probes": {"liveness": {"periodSeconds": 0}}},
    "dashboard label": {"grafanaDashboard": {"label": "not a label!"}},
}


@pytest.mark.parametrize("values", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_schema_rejects_bad_values(values: dict[str, Any]) -> None:
    with pytest.raises(HelmValuesError):
        render(values)


def test_schema_accepts_every_documented_option() -> None:
    render(EVERYTHING_ON)
    render({"existingConfigMap": "x", "rollOnConfigChange": False, "replicaCount": 3})
