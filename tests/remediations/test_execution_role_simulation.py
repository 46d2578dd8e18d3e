"""Before execution_role_permissions detaches a policy or puts a boundary, it simulates the role
after the change (iam:SimulateCustomPolicy, answered by the sandbox's evaluator) for what the
applications using the role need: a change that would remove one is refused, naming it."""

from __future__ import annotations

import json
from typing import Any

from daemon.state import AppRef, Cause
from remediations import execution_role_permissions as permissions
from remediations.role_simulation import VPC_ACTIONS, needs_of
from sandbox.testing import client
from tests.factories import flink_detail
from tests.remediations.test_execution_role_restarts import account
from tests.remediations.test_execution_role_sandbox import ADMIN, ROLE, Account, Rules

__all__ = ["account"]  # the fixture
CODE = "arn:aws:s3:::artifacts/job.jar"
REFUSED = f"not detached: the role would lose s3:GetObject on {CODE}"


def reading_code(account: Account, name: str = "reader") -> AppRef:
    """A third app on the shared role whose code is an S3 object (created with the sandbox's
    default keys: the daemon's create nothing)."""
    role = account.iam.get_role(RoleName=ROLE)["Role"]["Arn"]
    location = {"BucketARN": "arn:aws:s3:::artifacts", "FileKey": "job.jar"}
    code = {"CodeContentType": "ZIPFILE", "CodeContent": {"S3ContentLocation": location}}
    sandbox = account.sandbox
    client(sandbox.endpoint_url, sandbox.region, "kinesisanalyticsv2").create_application(
        ApplicationName=name,
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=role,
        ApplicationConfiguration={"ApplicationCodeConfiguration": code},
    )
    return AppRef(sandbox.account_id, sandbox.region, name)


def rules(**settings: Any) -> Rules:
    rule = permissions.ExecutionRolePermissions()
    return [(rule, permissions.Settings(**settings), "enforce")]


def grant_code_read(account: Account) -> None:
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::artifacts/*",
    }
    account.iam.put_role_policy(
        RoleName=ROLE,
        PolicyName="code",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def test_a_detach_that_would_remove_the_code_read_is_refused_with_the_permission_named(
    account: Account,
) -> None:
    reader = reading_code(account)
    for app in (reader, account.apps[0]):  # its own app, and an app sharing the role
        result = account.reconciler(rules()).reconcile(app, Cause("sweep"))
        assert result.result == "drift", result.error
        assert result.plan is not None
        (drift,) = result.plan.drifts
        assert not drift.fixable and REFUSED in drift.message, drift.message
    assert account.writes() == []
    assert account.attached() == [ADMIN]
    simulated = [c for c in account.sandbox.calls() if c.operation == "SimulateCustomPolicy"]
    assert simulated and all(c.caller_arn == account.daemon.arn for c in simulated)


def test_an_ordinary_detach_that_keeps_every_need_goes_through(account: Account) -> None:
    reader = reading_code(account)
    grant_code_read(account)
    result = account.reconciler(rules()).reconcile(reader, Cause("sweep"))
    assert result.result == "fixed", result.error
    assert account.writes() == ["DetachRolePolicy"]
    assert account.attached() == []


def test_a_boundary_that_would_remove_the_code_read_is_not_put(account: Account) -> None:
    reader = reading_code(account)
    narrow = account.policy("narrow", {"Action": "kinesis:*", "Resource": "*"})
    result = account.reconciler(rules(strategy="boundary", boundary_policy_arn=narrow)).reconcile(
        reader, Cause("sweep")
    )
    assert result.plan is not None
    (drift,) = result.plan.drifts
    assert not drift.fixable
    assert f"boundary not put: the role would lose s3:GetObject on {CODE}" in drift.message
    assert account.writes() == []
    wide = account.policy("wide", {"Action": ["s3:GetObject", "kinesis:*"], "Resource": "*"})
    result = account.reconciler(rules(strategy="boundary", boundary_policy_arn=wide)).reconcile(
        reader, Cause("sweep")
    )
    assert result.result == "fixed", result.error
    assert account.writes() == ["PutRolePermissionsBoundary"]


def test_the_needs_follow_the_application() -> None:
    detail = flink_detail()
    config = detail["ApplicationConfigurationDescription"]
    location = {"BucketARN": "arn:aws:s3:::b", "FileKey": "k.jar", "ObjectVersion": "v1"}
    config["ApplicationCodeConfigurationDescription"] = {
        "CodeContentDescription": {"S3ApplicationCodeLocationDescription": location}
    }
    config["VpcConfigurationDescriptions"] = [{"SubnetIds": ["subnet-1"]}]
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    config["ApplicationEncryptionConfigurationDescription"] = {
        "KeyType": "CUSTOMER_MANAGED_KEY",
        "KeyId": key,
    }
    stream = "arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:s"
    detail["CloudWatchLoggingOptionDescriptions"] = [{"LogStreamARN": stream}]
    found = {(n.actions, n.resource) for n in needs_of(detail)}
    assert (("s3:GetObject", "s3:GetObjectVersion"), "arn:aws:s3:::b/k.jar") in found
    assert (("logs:PutLogEvents",), stream) in found
    assert (
        ("logs:DescribeLogStreams",),
        "arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:*",
    ) in found
    assert (VPC_ACTIONS, "*") in found
    assert (("kms:Decrypt", "kms:GenerateDataKey"), key) in found
