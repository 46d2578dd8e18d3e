"""What the chart renders for its defaults and for the value sets users actually set."""

from __future__ import annotations

from typing import Any

import pytest
from helm_python.errors import HelmRenderError

from tests.helm.chart import EVERYTHING_ON, FULLNAME, REPO, render

CORE_KINDS = {"Deployment", "Service", "ServiceAccount", "ConfigMap", "NetworkPolicy"}
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)


def test_defaults_render_only_the_core_objects() -> None:
    rendered = render()
    assert rendered.kinds() == CORE_KINDS
    assert [obj["kind"] for obj in rendered.objects].count("ConfigMap") == 1
    assert rendered.deployment["spec"]["replicas"] == 1


def test_everything_on_renders_every_optional_object() -> None:
    rendered = render(EVERYTHING_ON)
    assert rendered.kinds() == CORE_KINDS | {
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
    }
    assert rendered.one("ConfigMap", f"{FULLNAME}-dashboard")


@pytest.mark.parametrize("values", [{}, EVERYTHING_ON], ids=["defaults", "everything-on"])
def test_every_object_carries_the_standard_labels(values: dict[str, Any]) -> None:
    rendered = render(values)
    for obj in rendered.objects:
        labels = obj["metadata"]["labels"]
        missing = [key for key in STANDARD_LABELS if key not in labels]
        assert not missing, f"{obj['kind']} {obj['metadata']['name']} lacks {missing}"
        assert labels["app.kubernetes.io/name"] == "flink-remediator"
        assert obj["metadata"]["namespace"] == "flink-remediator"


def test_selectors_match_the_pod_labels() -> None:
    rendered = render(EVERYTHING_ON)
    pod_labels = rendered.deployment["spec"]["template"]["metadata"]["labels"]
    selectors = [
        rendered.deployment["spec"]["selector"]["matchLabels"],
        rendered.one("Service")["spec"]["selector"],
        rendered.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        rendered.one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= pod_labels.items()
    # The Deployment selector is immutable: nothing that changes between upgrades may be in it.
    assert set(selectors[0]) == {"app.kubernetes.io/name", "app.kubernetes.io/instance"}
    assert pod_labels["team"] == "data-platform"


def test_pod_and_container_are_locked_down() -> None:
    rendered = render()
    pod_security = rendered.pod["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == 10001
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    security = rendered.container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["privileged"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert rendered.pod["automountServiceAccountToken"] is False
    assert rendered.one("ServiceAccount")["automountServiceAccountToken"] is False


def test_only_tmp_is_writable() -> None:
    rendered = render()
    mounts = {mount["mountPath"]: mount for mount in rendered.container["volumeMounts"]}
    assert set(mounts) == {"/etc/flink-remediator", "/tmp"}
    assert mounts["/etc/flink-remediator"]["readOnly"] is True
    volumes = {volume["name"]: volume for volume in rendered.pod["volumes"]}
    assert volumes[mounts["/tmp"]["name"]]["emptyDir"] == {"sizeLimit": "64Mi"}
    config_volume = volumes[mounts["/etc/flink-remediator"]["name"]]
    assert config_volume["configMap"]["name"] == f"{FULLNAME}-config"
    assert "subPath" not in mounts["/etc/flink-remediator"]  # subPath mounts never update
    assert rendered.env["FLINK_REMEDIATOR_CONFIG"] == "/etc/flink-remediator/desired-state.yaml"


def test_probes_hit_the_health_endpoints_on_the_metrics_port() -> None:
    rendered = render()
    container = rendered.container
    assert container["ports"] == [{"name": "metrics", "containerPort": 8080, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["livenessProbe"]["failureThreshold"] >= 3


def test_metrics_port_moves_the_container_port_probes_and_env_together() -> None:
    rendered = render({"daemon": {"metricsPort": 9100}})
    assert rendered.container["ports"][0]["containerPort"] == 9100
    assert rendered.env["FLINK_REMEDIATOR_METRICS_PORT"] == "9100"
    assert rendered.container["livenessProbe"]["httpGet"]["port"] == "metrics"
    assert rendered.one("Service")["spec"]["ports"][0]["targetPort"] == "metrics"


def test_resources_have_requests_and_a_memory_limit() -> None:
    resources = render().container["resources"]
    assert resources["requests"] == {"cpu": "50m", "memory": "128Mi"}
    assert resources["limits"]["memory"] == "384Mi"


@pytest.mark.parametrize(
    ("values", "grace", "expected_period"),
    [({}, "30", 45), (EVERYTHING_ON, "60", 80)],
    ids=["defaults", "longer-grace"],
)
def test_kubelet_waits_longer_than_the_daemon_shutdown_grace(
    values: dict[str, Any], grace: str, expected_period: int
) -> None:
    rendered = render(values)
    assert rendered.env["FLINK_REMEDIATOR_SHUTDOWN_GRACE_SECONDS"] == grace
    assert rendered.pod["terminationGracePeriodSeconds"] == expected_period
    assert expected_period > int(grace)


def test_irsa_role_annotates_the_service_account() -> None:
    rendered = render(EVERYTHING_ON)
    account = rendered.one("ServiceAccount")
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/flink-remediator",
        "eks.amazonaws.com/sts-regional-endpoints": "true",
    }
    assert rendered.pod["serviceAccountName"] == account["metadata"]["name"] == FULLNAME


def test_no_role_means_no_annotation_and_a_pod_identity_hint() -> None:
    rendered = render()
    assert "annotations" not in rendered.one("ServiceAccount")["metadata"]
    assert "create-pod-identity-association" in rendered.notes


def test_existing_service_account_is_used_not_created() -> None:
    rendered = render({"serviceAccount": {"create": False, "name": "shared-remediator"}})
    assert "ServiceAccount" not in rendered.kinds()
    assert rendered.pod["serviceAccountName"] == "shared-remediator"


def test_dry_run_is_the_default_and_said_so() -> None:
    rendered = render()
    assert rendered.env["FLINK_REMEDIATOR_DRY_RUN"] == "true"
    assert "MODE: DRY-RUN" in rendered.notes
    assert "daemon.queueUrl is empty" in rendered.notes
    assert "FLINK_REMEDIATOR_QUEUE_URL" not in rendered.env
    assert "AWS_REGION" not in rendered.env  # IRSA / Pod Identity set it


def test_enforce_queue_region_and_log_format_reach_the_environment() -> None:
    rendered = render(EVERYTHING_ON)
    env = rendered.env
    assert env["FLINK_REMEDIATOR_DRY_RUN"] == "false"
    assert env["FLINK_REMEDIATOR_QUEUE_URL"].endswith("/flink-remediator-events")
    assert env["FLINK_REMEDIATOR_DLQ_URL"].endswith("/flink-remediator-dlq")
    assert env["FLINK_REMEDIATOR_REGION"] == env["AWS_REGION"] == "eu-west-1"
    assert env["FLINK_REMEDIATOR_LOG_FORMAT"] == "console"
    assert "MODE: ENFORCE" in rendered.notes
    assert "queueUrl is empty" not in rendered.notes


def test_extra_env_is_appended() -> None:
    rendered = render(EVERYTHING_ON)
    assert rendered.container["env"][-1] == {"name": "FLINK_REMEDIATOR_WORKERS", "value": "16"}


def test_scheduling_settings_pass_through() -> None:
    pod = render(EVERYTHING_ON).pod
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["tolerations"] == EVERYTHING_ON["tolerations"]
    assert pod["affinity"] == EVERYTHING_ON["affinity"]
    assert pod["topologySpreadConstraints"] == EVERYTHING_ON["topologySpreadConstraints"]
    assert pod["imagePullSecrets"] == [{"name": "registry"}]
    defaults = render().pod
    for key in ("priorityClassName", "nodeSelector", "tolerations", "affinity"):
        assert key not in defaults


def test_image_defaults_to_app_version_and_a_digest_pins_it() -> None:
    assert render().container["image"] == "registry.example.com/platform/flink-remediator:0.1.0"
    pinned = render(EVERYTHING_ON).container["image"]
    assert pinned == "registry.example.com/platform/flink-remediator@sha256:" + "ab" * 32


@pytest.mark.parametrize("replicas", [0, 1])
def test_no_disruption_budget_for_a_single_replica(replicas: int) -> None:
    assert "PodDisruptionBudget" not in render({"replicaCount": replicas}).kinds()


def test_two_replicas_get_a_disruption_budget_and_a_surge_rollout() -> None:
    rendered = render({"replicaCount": 2})
    assert rendered.one("PodDisruptionBudget")["spec"]["minAvailable"] == 1
    assert rendered.deployment["spec"]["replicas"] == 2
    rollout = rendered.deployment["spec"]["strategy"]["rollingUpdate"]
    assert rollout == {"maxSurge": 1, "maxUnavailable": 0}


def test_config_change_rolls_the_pods() -> None:
    def checksum(values: dict[str, Any]) -> str:
        annotations = render(values).deployment["spec"]["template"]["metadata"]["annotations"]
        value: str = annotations["checksum/config"]
        return value

    base = checksum({})
    assert checksum({}) == base
    assert checksum({"config": {"regions": ["eu-west-1"]}}) != base
    assert checksum({"configFile": "version: 1\n"}) != base
    assert checksum({"podAnnotations": {"a": "b"}}) == base


def test_hot_reload_only_leaves_the_pod_template_alone() -> None:
    template = render({"rollOnConfigChange": False}).deployment["spec"]["template"]
    assert "annotations" not in template["metadata"]


def test_existing_config_map_is_mounted_and_none_rendered() -> None:
    rendered = render({"existingConfigMap": "my-desired-state"})
    assert "ConfigMap" not in rendered.kinds()
    volumes = {volume["name"]: volume for volume in rendered.pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "my-desired-state"
    assert "annotations" not in rendered.deployment["spec"]["template"]["metadata"]


def test_config_file_is_carried_verbatim() -> None:
    text = "# ours\nversion: 1\naccounts: ['111122223333']\nregions: [eu-west-1]\n"
    rendered = render({"configFile": text})
    assert rendered.desired_state_text() == text
    assert "placeholder account" not in rendered.notes
    assert "placeholder account" in render().notes


AGENT = {
    "to": [
        {"ipBlock": {"cidr": "169.254.170.23/32"}},
        {"ipBlock": {"cidr": "fd00:ec2::23/128"}},
    ],
    "ports": [{"port": 80, "protocol": "TCP"}],
}
KUBE_DNS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
}


def test_network_policy_allows_metrics_in_https_kube_dns_and_the_agent_out() -> None:
    policy = render().one("NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [{"ports": [{"port": "metrics", "protocol": "TCP"}]}]
    https, dns, agent = policy["egress"]
    assert https == {"ports": [{"port": 443, "protocol": "TCP"}]}  # dry-run: any address
    assert dns == KUBE_DNS  # DNS only to the cluster's DNS pods
    # Pod Identity agent by default: hub.yaml's TrustMode defaults to pod-identity.
    assert agent == AGENT


def test_network_policy_options() -> None:
    policy = render(EVERYTHING_ON).one("NetworkPolicy")["spec"]
    assert policy["ingress"][0]["from"] == EVERYTHING_ON["networkPolicy"]["metricsFrom"]
    https = policy["egress"][0]
    assert https["to"] == [
        {"ipBlock": {"cidr": "10.20.0.0/16"}},
        {"ipBlock": {"cidr": "52.216.0.0/15"}},
    ]
    assert AGENT not in policy["egress"]  # IRSA: no agent
    assert "NetworkPolicy" not in render({"networkPolicy": {"enabled": False}}).kinds()


def test_pod_identity_defaults_agree_with_hub_template() -> None:
    hub = (REPO / "deploy" / "cloudformation" / "hub.yaml").read_text()
    trust_mode = hub.split("TrustMode:", 1)[1].split("AllowedValues", 1)[0]
    assert "Default: pod-identity" in trust_mode
    assert AGENT in render().one("NetworkPolicy")["spec"]["egress"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"daemon": {"dryRun": False}}, "image.digest is not set: enforce mode"),
        (
            {"daemon": {"dryRun": False}, "image": {"digest": "sha256:" + "ab" * 32}},
            "networkPolicy.httpsEgressCidrs is empty: enforce mode",
        ),
    ],
)
def test_enforce_mode_refuses_an_unpinned_image_or_open_egress(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmRenderError, match=message):
        render(values)
    open_egress = {**values, "networkPolicy": {"enabled": False}}
    if "image" in values:  # without a NetworkPolicy there is no egress list to require
        assert render(open_egress).deployment


def test_service_exposes_only_metrics() -> None:
    service = render().one("Service")["spec"]
    assert service["type"] == "ClusterIP"
    assert service["ports"] == [
        {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}
    ]
