"""Conditions under `--enforce-iam`, over HTTP: the sandbox evaluates them for IAM, Logs, SNS and
Flink calls (moto alone treats most as satisfied), with explicit Deny first."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sandbox.testing import flink_key
from tests.sandbox.test_enforce_iam import (  # noqa: F401 (fixtures)
    admin,
    allow,
    code_of,
    create_app,
    enforced,
    policy,
    update,
    user_with,
)

Aws = Callable[..., Any]
ACCOUNT = "123456789012"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "kinesisanalytics.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def role(iam: Any, name: str, *attached: str, **tags: str) -> None:
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, Tags=tag_list)
    for arn in attached:
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)


def test_iam_policy_arn_boundary_and_resource_tag_conditions(
    admin: Aws,  # noqa: F811
    user_with: Callable[[str], Aws],  # noqa: F811
) -> None:
    iam = admin("iam")
    role(iam, "tagged", ADMIN, READ_ONLY, team="flink")
    role(iam, "untagged", ADMIN)
    boundary = iam.create_policy(PolicyName="bound", PolicyDocument=policy(allow("logs:*")))[
        "Policy"
    ]["Arn"]
    tagged = {"StringEquals": {"aws:ResourceTag/team": "flink"}}
    user = user_with(
        policy(
            {
                **allow("iam:DetachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/*"),
                "Condition": {**tagged, "ArnEquals": {"iam:PolicyARN": ADMIN}},
            },
            {
                **allow("iam:PutRolePermissionsBoundary", f"arn:aws:iam::{ACCOUNT}:role/*"),
                "Condition": {"ArnEquals": {"iam:PermissionsBoundary": boundary}},
            },
        )
    )("iam")
    assert code_of(lambda: user.detach_role_policy(RoleName="tagged", PolicyArn=READ_ONLY)) == (
        "AccessDenied"
    )
    assert code_of(lambda: user.detach_role_policy(RoleName="untagged", PolicyArn=ADMIN)) == (
        "AccessDenied"
    )
    assert code_of(lambda: user.detach_role_policy(RoleName="tagged", PolicyArn=ADMIN)) is None
    assert code_of(
        lambda: user.put_role_permissions_boundary(RoleName="untagged", PermissionsBoundary=ADMIN)
    ) == ("AccessDenied")
    assert (
        code_of(
            lambda: user.put_role_permissions_boundary(
                RoleName="untagged", PermissionsBoundary=boundary
            )
        )
        is None
    )


def test_flink_resource_tags_tag_keys_and_denies(
    admin: Aws,  # noqa: F811
    user_with: Callable[[str], Aws],  # noqa: F811
) -> None:
    flink_admin = admin("kinesisanalyticsv2")
    create_app(flink_admin, "open")
    create_app(flink_admin, "ignored")
    info = flink_admin.describe_application(ApplicationName="ignored")["ApplicationDetail"]
    region = info["ApplicationARN"].split(":")[3]
    arn = f"arn:aws:kinesisanalytics:{region}:{ACCOUNT}:application/"
    flink_admin.tag_resource(ResourceARN=arn + "ignored", Tags=[{"Key": "skip", "Value": "Yes"}])
    user = user_with(
        policy(
            allow(["kinesisanalytics:UpdateApplication"], arn + "*"),
            {
                **allow("kinesisanalytics:TagResource", arn + "*"),
                "Condition": {
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["owner"]},
                    "Null": {"aws:TagKeys": "false"},
                },
            },
            {
                "Effect": "Deny",
                "Action": "kinesisanalytics:UpdateApplication",
                "Resource": arn + "*",
                "Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/skip": "yes"}},
            },
        )
    )("kinesisanalyticsv2")
    assert code_of(update(user, "open")) is None
    assert code_of(update(user, "ignored")) == "AccessDeniedException"

    def tag(*keys: str) -> str | None:
        tags = [{"Key": k, "Value": "v"} for k in keys]
        return code_of(lambda: user.tag_resource(ResourceARN=arn + "open", Tags=tags))

    assert tag("owner") is None
    assert tag("owner", "env") == "AccessDeniedException"


def test_managed_flink_uses_the_callers_kms_permissions_via_the_service(
    admin: Aws,  # noqa: F811
    user_with: Callable[[str], Aws],  # noqa: F811
) -> None:
    flink_admin = admin("kinesisanalyticsv2")
    create_app(flink_admin, "app")
    key = flink_key(admin("kms"))  # a key policy the service may use
    region = key.split(":")[3]
    encrypt = {
        "ApplicationEncryptionConfigurationUpdate": {
            "KeyTypeUpdate": "CUSTOMER_MANAGED_KEY",
            "KeyIdUpdate": key,
        }
    }
    flink_only = allow("kinesisanalytics:UpdateApplication")
    via = {"StringEquals": {"kms:ViaService": f"kinesisanalytics.{region}.amazonaws.com"}}
    kms = {**allow(["kms:DescribeKey", "kms:CreateGrant"], key), "Condition": via}
    wrong_service = {
        **kms,
        "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
    }

    def set_key(document: str) -> str | None:
        flink = user_with(document)("kinesisanalyticsv2")
        version = flink_admin.describe_application(ApplicationName="app")["ApplicationDetail"][
            "ApplicationVersionId"
        ]
        return code_of(
            lambda: flink.update_application(
                ApplicationName="app",
                CurrentApplicationVersionId=version,
                ApplicationConfigurationUpdate=encrypt,
            )
        )

    assert set_key(policy(flink_only)) == "AccessDeniedException"
    assert set_key(policy(flink_only, wrong_service)) == "AccessDeniedException"
    assert set_key(policy(flink_only, kms)) is None


def test_logs_and_sns_are_evaluated_on_their_arns_and_region(
    enforced: Any,  # noqa: F811
    admin: Aws,  # noqa: F811
    user_with: Callable[[str], Aws],  # noqa: F811
) -> None:
    region = enforced.region
    topic = admin("sns").create_topic(Name="alerts")["TopicArn"]
    other = admin("sns").create_topic(Name="other")["TopicArn"]
    group = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:/aws/kinesis-analytics/*"
    user = user_with(
        policy(
            {
                **allow("logs:CreateLogGroup", group),
                "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
            },
            allow("sns:Publish", topic),
        )
    )
    logs, sns = user("logs"), user("sns")
    assert code_of(lambda: logs.create_log_group(logGroupName="/aws/kinesis-analytics/a")) is None
    assert code_of(lambda: logs.create_log_group(logGroupName="/elsewhere/a")) == (
        "AccessDeniedException"
    )
    assert code_of(lambda: sns.publish(TopicArn=topic, Message="m")) is None
    assert code_of(lambda: sns.publish(TopicArn=other, Message="m")) == "AuthorizationError"
