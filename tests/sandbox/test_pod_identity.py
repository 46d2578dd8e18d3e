"""hub.yaml's daemon role under EKS Pod Identity, in the sandbox's CloudFormation (moto): only
a pod identity association of the configured cluster, namespace and service account gets
credentials; another namespace, service account or cluster, or an association with session
tags disabled, is refused (the trust policy's aws:RequestTag conditions, as EKS documents the
session tags: sandbox/pod_identity.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, control

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def assume(sandbox: Sandbox, **association: Any) -> str:
    try:
        answer = control(sandbox.endpoint_url, "/_sandbox/eks/pod-identity", **association)
    except RuntimeError as error:
        return "AccessDenied" if "403" in str(error) and "AccessDenied" in str(error) else "error"
    keys = answer["Credentials"]
    who = Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    arn: str = client(sandbox.endpoint_url, REGION, "sts", who).get_caller_identity()["Arn"]
    return arn


@pytest.fixture
def daemon_role(fresh_sandbox: Sandbox) -> dict[str, str]:
    cf = client(fresh_sandbox.endpoint_url, REGION, "cloudformation")
    cluster = f"arn:aws:eks:{REGION}:{fresh_sandbox.account_id}:cluster/platform"
    cf.create_stack(
        StackName="hub",
        TemplateBody=(ROOT / "deploy" / "cloudformation" / "hub.yaml").read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": "EksClusterArn", "ParameterValue": cluster}],
    )
    outputs = cf.describe_stacks(StackName="hub")["Stacks"][0]["Outputs"]
    role = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "DaemonRoleArn")
    return {"role_arn": role, "cluster_arn": cluster}


def test_only_the_daemons_namespace_and_service_account_get_the_role(
    fresh_sandbox: Sandbox, daemon_role: dict[str, str]
) -> None:
    own = {**daemon_role, "namespace": "flink-remediator", "service_account": "flink-remediator"}
    arn = assume(fresh_sandbox, **own)
    assert arn.startswith(f"arn:aws:sts::{fresh_sandbox.account_id}:assumed-role/flink-remediator/")

    other_cluster = daemon_role["cluster_arn"].replace("/platform", "/sandbox-team")
    refused: list[dict[str, Any]] = [
        {**own, "namespace": "team-a"},  # another team's association naming the daemon role
        {**own, "service_account": "default"},
        {**own, "cluster_arn": other_cluster},
        {**own, "session_tags": False},  # disableSessionTags: no tags, no match
    ]
    assert [assume(fresh_sandbox, **a) for a in refused] == ["AccessDenied"] * 4


def test_a_trust_without_conditions_lets_any_association_in(fresh_sandbox: Sandbox) -> None:
    # What hub.yaml had before: the model, not the template, is what refuses above.
    iam = client(fresh_sandbox.endpoint_url, REGION, "iam")
    trust = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Principal": {"Service": "pods.eks.amazonaws.com"}, '
        '"Action": ["sts:AssumeRole", "sts:TagSession"]}]}'
    )
    role = iam.create_role(RoleName="open-pod-role", AssumeRolePolicyDocument=trust)["Role"]
    cluster = f"arn:aws:eks:{REGION}:{fresh_sandbox.account_id}:cluster/platform"
    anyone = {"role_arn": role["Arn"], "cluster_arn": cluster, "service_account": "default"}
    assert "assumed-role/open-pod-role/" in assume(fresh_sandbox, namespace="team-a", **anyone)
    no_tag_session = trust.replace(', "sts:TagSession"', "")
    iam.update_assume_role_policy(RoleName="open-pod-role", PolicyDocument=no_tag_session)
    assert assume(fresh_sandbox, namespace="team-a", **anyone) == "AccessDenied"
