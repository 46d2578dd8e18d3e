"""Contract scenarios: each registered rule's test file, tests/remediations/test_<id>.py,
defines `SCENARIO = Scenario(...)`: settings, an application built on the sandbox that complies
with them, and one that drifts on the rule. `scenario_for` finds it; the contract test fails
for any registered rule without one.

The builders here are the ones several rules share. Builders create what they need on the
sandbox (log streams, KMS keys, a VPC) through boto3 over HTTP, like any AWS user would.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.state import AppRef
from remediations.base import RuleSettings
from sandbox.demo import Seeder
from tests.contract.harness import Harness


@dataclass(frozen=True)
class Scenario:
    settings: Callable[[Harness], RuleSettings]
    compliant: Callable[[Harness, Any, str], AppRef]
    drifted: Callable[[Harness, Any, str], AppRef]


def scenario_for(rule_id: str) -> Scenario | None:
    """The SCENARIO of tests/remediations/test_<rule_id>.py, or None when there is none."""
    try:
        module = importlib.import_module(f"tests.remediations.test_{rule_id}")
    except ModuleNotFoundError:
        return None
    scenario = getattr(module, "SCENARIO", None)
    return scenario if isinstance(scenario, Scenario) else None


def flink(section: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"FlinkApplicationConfiguration": {section: value}}


def plain(configuration: dict[str, Any] | None = None, **kw: Any) -> Callable[..., AppRef]:
    def build(h: Harness, settings: RuleSettings, name: str) -> AppRef:
        return h.create_app(name, configuration, **kw)

    return build


# ---- VPC rules: a VPC with a private (NAT) and a public (internet gateway) subnet -------------


def network(h: Harness) -> dict[str, str]:
    sandbox = h.sandbox
    return Seeder(sandbox.endpoint_url, sandbox.region, sandbox.account_id).network()


def in_vpc(subnet_key: str) -> Callable[[Harness, Any, str], AppRef]:
    def build(h: Harness, settings: Any, name: str) -> AppRef:
        if hasattr(settings, "subnet_ids") and settings.subnet_ids:
            subnet, group = settings.subnet_ids[0], settings.security_group_ids[0]
        else:
            net = network(h)
            subnet, group = net[subnet_key], net["security_group_id"]
        vpc = {"SubnetIds": [subnet], "SecurityGroupIds": [group]}
        return h.create_app(name, {"VpcConfigurations": [vpc]})

    return build


# ---- execution role rules: the app's role exists in the sandbox's IAM ------------------------


def with_role(
    trust_condition: bool = False,
    policies: tuple[str, ...] = (),
    inline: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
) -> Callable[[Harness, Any, str], AppRef]:
    """An app whose role `flink-execution` has these managed `policies`, an `inline` policy
    document (named `inline`) if given, and the app's `configuration`."""

    def build(h: Harness, settings: Any, name: str) -> AppRef:
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "kinesisanalytics.amazonaws.com"},
        }
        if trust_condition:  # the harness has no inventory: the app's own ARN is what it knows
            statement["Condition"] = {
                "StringEquals": {"aws:SourceAccount": h.app(name).account},
                "ArnEquals": {"aws:SourceArn": h.app(name).arn},
            }
        iam = h.client("iam")
        iam.create_role(
            RoleName="flink-execution",
            Path="/flink/",  # the desired state's execution_roles.path
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [statement]}
            ),
        )
        for arn in policies:
            iam.attach_role_policy(RoleName="flink-execution", PolicyArn=arn)
        if inline is not None:
            document = json.dumps(inline)
            iam.put_role_policy(
                RoleName="flink-execution", PolicyName="inline", PolicyDocument=document
            )
        return h.create_app(name, configuration)

    return build
