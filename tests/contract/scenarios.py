"""One scenario per registered rule, for the contract test: settings, an application built on
the sandbox that complies with them, and one that drifts on the rule.

Adding a rule to `remediations.REGISTRY` means adding its scenario here: the contract test fails
for any registered rule without one. Builders create what they need on the sandbox (log
streams, KMS keys, a VPC) through boto3 over HTTP, like any AWS user would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.state import AppRef
from remediations import (
    checkpointing,
    cloudwatch_logging,
    code_location,
    encryption,
    execution_role_permissions,
    execution_role_trust,
    parallelism_cap,
    required_tags,
    runtime_version,
    snapshots,
    system_rollback,
    vpc_public_route,
    vpc_required,
)
from remediations.base import RuleSettings
from sandbox.demo import Seeder
from sandbox.testing import flink_key
from tests.contract.harness import Harness


@dataclass(frozen=True)
class Scenario:
    settings: Callable[[Harness], RuleSettings]
    compliant: Callable[[Harness, RuleSettings, str], AppRef]
    drifted: Callable[[Harness, RuleSettings, str], AppRef]


def _flink(section: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"FlinkApplicationConfiguration": {section: value}}


def _plain(configuration: dict[str, Any] | None = None, **kw: Any) -> Callable[..., AppRef]:
    def build(h: Harness, settings: RuleSettings, name: str) -> AppRef:
        return h.create_app(name, configuration, **kw)

    return build


# ---- cloudwatch_logging ----------------------------------------------------------------------


def _logging_compliant(h: Harness, settings: Any, name: str) -> AppRef:
    arn = settings.stream_arn(h.app(name))
    group, stream = cloudwatch_logging.split_stream_arn(arn)
    logs = h.client("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    monitoring = {
        "ConfigurationType": "CUSTOM",
        "LogLevel": settings.log_level,
        "MetricsLevel": settings.metrics_level,
    }
    return h.create_app(
        name,
        _flink("MonitoringConfiguration", monitoring),
        CloudWatchLoggingOptions=[{"LogStreamARN": arn}],
    )


# ---- encryption ------------------------------------------------------------------------------


def _key_settings(h: Harness) -> RuleSettings:
    key = flink_key(h.client("kms"))
    return encryption.Settings(key_id=key)


def _encrypted(h: Harness, settings: Any, name: str) -> AppRef:
    config = {"KeyType": "CUSTOMER_MANAGED_KEY", "KeyId": settings.key_id}
    return h.create_app(name, {"ApplicationEncryptionConfiguration": config})


# ---- code_location ---------------------------------------------------------------------------


def _code_from(bucket: str) -> dict[str, Any]:
    location = {"BucketARN": f"arn:aws:s3:::{bucket}", "FileKey": "job.jar"}
    return {
        "ApplicationCodeConfiguration": {
            "CodeContentType": "ZIPFILE",
            "CodeContent": {"S3ContentLocation": location},
        }
    }


# ---- VPC rules: a VPC with a private (NAT) and a public (internet gateway) subnet -------------


def _network(h: Harness) -> dict[str, str]:
    sandbox = h.sandbox
    return Seeder(sandbox.endpoint_url, sandbox.region, sandbox.account_id).network()


def _vpc_required_settings(h: Harness) -> RuleSettings:
    net = _network(h)
    return vpc_required.Settings(
        subnet_ids=(net["private_subnet_id"],),
        security_group_ids=(net["security_group_id"],),
        add_vpc_configuration=True,
    )


def _in_vpc(subnet_key: str) -> Callable[[Harness, Any, str], AppRef]:
    def build(h: Harness, settings: Any, name: str) -> AppRef:
        if hasattr(settings, "subnet_ids") and settings.subnet_ids:
            subnet, group = settings.subnet_ids[0], settings.security_group_ids[0]
        else:
            net = _network(h)
            subnet, group = net[subnet_key], net["security_group_id"]
        vpc = {"SubnetIds": [subnet], "SecurityGroupIds": [group]}
        return h.create_app(name, {"VpcConfigurations": [vpc]})

    return build


# ---- execution role rules: the app's role exists in the sandbox's IAM ------------------------


def _with_role(
    trust_condition: bool = False, policies: tuple[str, ...] = ()
) -> Callable[[Harness, Any, str], AppRef]:
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
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [statement]}
            ),
        )
        for arn in policies:
            iam.attach_role_policy(RoleName="flink-execution", PolicyArn=arn)
        return h.create_app(name)

    return build


SCENARIOS: dict[str, Scenario] = {
    "cloudwatch_logging": Scenario(
        lambda h: cloudwatch_logging.Settings(), _logging_compliant, _plain()
    ),
    "snapshots": Scenario(
        lambda h: snapshots.Settings(),
        _plain({"ApplicationSnapshotConfiguration": {"SnapshotsEnabled": True}}),
        _plain({"ApplicationSnapshotConfiguration": {"SnapshotsEnabled": False}}),
    ),
    "checkpointing": Scenario(
        lambda h: checkpointing.Settings(),
        _plain(),  # the service default: on, every 60 s, 5 s pause
        _plain(
            _flink(
                "CheckpointConfiguration",
                {"ConfigurationType": "CUSTOM", "CheckpointingEnabled": False},
            )
        ),
    ),
    "system_rollback": Scenario(
        lambda h: system_rollback.Settings(),
        _plain({"ApplicationSystemRollbackConfiguration": {"RollbackEnabled": True}}),
        _plain(),
    ),
    "encryption": Scenario(_key_settings, _encrypted, _plain()),
    "runtime_version": Scenario(
        lambda h: runtime_version.Settings(),
        _plain(runtime="FLINK-1_20"),
        _plain(runtime="FLINK-1_15"),
    ),
    "required_tags": Scenario(
        lambda h: required_tags.Settings(
            tags={"env": required_tags.TagRequirement(allowed=["prod", "dev"], default="dev")}
        ),
        _plain(tags={"env": "prod"}),
        _plain(tags={"env": "staging"}),
    ),
    "code_location": Scenario(
        lambda h: code_location.Settings(allowed_buckets=["acme-artifacts-*"]),
        _plain(_code_from("acme-artifacts-prod")),
        _plain(_code_from("someones-scratch")),
    ),
    "parallelism_cap": Scenario(
        lambda h: parallelism_cap.Settings(max_kpus=32, require_autoscaling=True),
        _plain(),  # DEFAULT: parallelism 1, autoscaling on
        _plain(
            _flink(
                "ParallelismConfiguration",
                {"ConfigurationType": "CUSTOM", "Parallelism": 48, "AutoScalingEnabled": False},
            )
        ),
    ),
    "vpc_required": Scenario(_vpc_required_settings, _in_vpc("private_subnet_id"), _plain()),
    "vpc_public_route": Scenario(
        lambda h: vpc_public_route.Settings(),
        _in_vpc("private_subnet_id"),
        _in_vpc("public_subnet_id"),
    ),
    "execution_role_trust": Scenario(
        lambda h: execution_role_trust.Settings(), _with_role(True), _with_role(False)
    ),
    "execution_role_permissions": Scenario(
        lambda h: execution_role_permissions.Settings(),
        _with_role(),
        _with_role(policies=("arn:aws:iam::aws:policy/AdministratorAccess",)),
    ),
}
