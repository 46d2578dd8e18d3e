"""Values an operator reaches for on day two: CA bundles and proxies (extra volumes, envFrom),
labels on every object, replicas spread over zones and nodes, a metrics server that listens on
IPv6 clusters, and no way to expose the unauthenticated metrics port through a load balancer."""

from __future__ import annotations

from typing import Any

import pytest
from helm_python import HelmValuesError
from helm_python.errors import HelmRenderError

from tests.helm.chart import EVERYTHING_ON, render


def test_metrics_server_listens_dual_stack_by_default() -> None:
    assert render().env["FLINK_REMEDIATOR_METRICS_HOST"] == "::"
    ipv4_only = render({"daemon": {"metricsHost": "0.0.0.0"}})
    assert ipv4_only.env["FLINK_REMEDIATOR_METRICS_HOST"] == "0.0.0.0"


def test_ca_bundle_volume_is_mounted_next_to_the_chart_mounts() -> None:
    rendered = render(EVERYTHING_ON)
    volumes = {volume["name"]: volume for volume in rendered.pod["volumes"]}
    assert volumes["ca-bundle"] == {"name": "ca-bundle", "configMap": {"name": "corporate-ca"}}
    assert {"config", "tmp"} <= set(volumes)
    mounts = {mount["name"]: mount for mount in rendered.container["volumeMounts"]}
    assert mounts["ca-bundle"]["mountPath"] == "/etc/ssl/corporate"
    assert {"config", "tmp"} <= set(mounts)


def test_env_from_reaches_the_container() -> None:
    assert render(EVERYTHING_ON).container["envFrom"] == [
        {"configMapRef": {"name": "egress-proxy"}}
    ]
    assert "envFrom" not in render().container


def test_common_labels_are_on_every_object_and_the_pods() -> None:
    rendered = render(EVERYTHING_ON)
    for obj in rendered.objects:
        labels = obj["metadata"]["labels"]
        assert labels.get("cost-center") == "data-platform", obj["kind"]
    pod_labels = rendered.deployment["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["cost-center"] == "data-platform"
    # Never in the immutable Deployment selector.
    assert "cost-center" not in rendered.deployment["spec"]["selector"]["matchLabels"]


def test_two_replicas_spread_over_zones_and_nodes_with_a_budget() -> None:
    rendered = render({"replicaCount": 2})
    selector = rendered.deployment["spec"]["selector"]["matchLabels"]
    constraints = rendered.pod["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in constraints] == [
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    ]
    for constraint in constraints:
        assert constraint["maxSkew"] == 1
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        assert constraint["labelSelector"] == {"matchLabels": selector}
    assert rendered.one("PodDisruptionBudget")["spec"]["minAvailable"] == 1


def test_three_replicas_share_queue_sweeps_out_of_the_box() -> None:
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/flink-remediator-events"
    rendered = render({"replicaCount": 3, "daemon": {"sweepSource": "queue", "queueUrl": queue}})
    env = {e["name"]: e.get("value") for e in rendered.pod["containers"][0]["env"]}
    assert env["FLINK_REMEDIATOR_SWEEP_SOURCE"] == "queue"
    assert rendered.deployment["spec"]["replicas"] == 3
    assert rendered.one("PodDisruptionBudget")["spec"]["minAvailable"] == 1
    assert len(rendered.pod["topologySpreadConstraints"]) == 2


def test_queue_sweeps_without_a_queue_are_refused() -> None:
    with pytest.raises(HelmRenderError, match="sweepSource: queue needs daemon"):
        render({"daemon": {"sweepSource": "queue"}})


def test_the_sweep_source_defaults_to_the_pods_own_timer() -> None:
    env = {e["name"]: e.get("value") for e in render().pod["containers"][0]["env"]}
    assert env["FLINK_REMEDIATOR_SWEEP_SOURCE"] == "internal"


def test_one_replica_has_no_spread_and_no_budget() -> None:
    rendered = render()
    assert "topologySpreadConstraints" not in rendered.pod
    assert "PodDisruptionBudget" not in rendered.kinds()


def test_own_spread_constraints_replace_the_default() -> None:
    own = [{"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]
    rendered = render({"replicaCount": 3, "topologySpreadConstraints": own})
    assert rendered.pod["topologySpreadConstraints"] == own


BAD_VALUES: dict[str, dict[str, Any]] = {
    "an unknown sweep source": {"daemon": {"sweepSource": "leader"}},
    "load balancer for the unauthenticated metrics port": {"service": {"type": "LoadBalancer"}},
    "volume mount without a path": {"extraVolumeMounts": [{"name": "ca-bundle"}]},
    "relative mount path": {"extraVolumeMounts": [{"name": "ca", "mountPath": "etc/ssl"}]},
    "volume without a name": {"extraVolumes": [{"configMap": {"name": "corporate-ca"}}]},
    "envFrom of an unknown kind": {"envFrom": [{"fieldRef": {"name": "x"}}]},
    "common label value not a string": {"commonLabels": {"tier": 1}},
    "empty metrics host": {"daemon": {"metricsHost": ""}},
    "state table not a table name": {"daemon": {"stateTable": "arn:aws:dynamodb:x"}},
}


def test_the_state_table_value_reaches_the_daemon() -> None:
    env = render({"daemon": {"stateTable": "flink-remediator-state"}}).container["env"]
    assert {"name": "FLINK_REMEDIATOR_STATE_TABLE", "value": "flink-remediator-state"} in env
    names = [e["name"] for e in render().container["env"]]
    assert "FLINK_REMEDIATOR_STATE_TABLE" not in names  # in memory


@pytest.mark.parametrize("values", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_schema_rejects(values: dict[str, Any]) -> None:
    with pytest.raises(HelmValuesError):
        render(values)
