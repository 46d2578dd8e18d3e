"""execution_role_permissions, pure: findings, strategies and settings validation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from daemon.state import AppRef
from remediations.execution_role_permissions import (
    ExecutionRolePermissions,
    RolePolicies,
    Settings,
    broad_reasons,
)
from tests.contract.scenarios import Scenario, with_role
from tests.factories import flink_detail, observed

RULE = ExecutionRolePermissions()
ACCOUNT = "123456789012"
APP = AppRef(ACCOUNT, "us-east-1", "orders")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders-role"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
S3_READ = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
CUSTOM = f"arn:aws:iam::{ACCOUNT}:policy/flink-extra"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/flink-boundary"
NARROW = {"Effect": "Allow", "Action": ["kinesis:GetRecords"], "Resource": "*"}
STAR = {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def seen(
    attached: tuple[str, ...] = (),
    inline: dict[str, Any] | None = None,
    customer: dict[str, Any] | None = None,
    boundary: str | None = None,
    apps: list[str] | None = ("orders", "ledger"),  # type: ignore[assignment]
) -> Any:
    facts = RolePolicies(
        role_arn=ROLE,
        boundary=boundary,
        attached=tuple(attached),
        inline=inline or {},
        customer=customer or {},
        apps=None if apps is None else tuple(apps),
    )
    return observed(flink_detail(APP), {RULE.id: facts}, APP)


def test_detach_removes_forbidden_aws_managed_policies_only() -> None:
    obs = seen(attached=(ADMIN, S3_READ))
    (drift,) = RULE.check(Settings(), obs)
    assert (drift.field, drift.current, drift.fixable, drift.resource) == (
        "AttachedPolicies.AdministratorAccess",
        ADMIN,
        True,
        ROLE,
    )
    assert "ledger, orders" in drift.message  # every app the change affects
    (call,) = RULE.fix(Settings(), obs, (drift,))
    assert (call.operation, call.params, call.resource) == (
        "DetachRolePolicy",
        {"RoleName": "orders-role", "PolicyArn": ADMIN},
        ROLE,
    )


def test_a_customer_policy_named_like_an_aws_one_is_judged_by_its_statements() -> None:
    lookalike = f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess"
    obs = seen(attached=(lookalike,), customer={lookalike: doc(NARROW)})
    assert RULE.check(Settings(), obs) == ()
    listed = Settings(forbidden_managed_policies=(lookalike,))
    assert RULE.check(listed, obs)[0].fixable


def test_inline_and_customer_statements_are_quoted_and_never_fixed() -> None:
    obs = seen(inline={"wide": doc(NARROW, STAR)}, customer={CUSTOM: doc(NARROW, STAR)})
    drifts = RULE.check(Settings(), obs)
    assert {d.field for d in drifts} == {"InlinePolicies.wide", "CustomerPolicies.flink-extra"}
    assert all(not d.fixable and '"Sid": "Everything"' in d.message for d in drifts)
    assert all("GetRecords" not in d.message for d in drifts)  # only the offending statement
    assert RULE.fix(Settings(), obs, drifts) == ()


def test_boundary_is_put_once_and_then_contains_the_findings() -> None:
    settings = Settings(strategy="boundary", boundary_policy_arn=BOUNDARY)
    obs = seen(attached=(ADMIN,), inline={"wide": doc(STAR)})
    (drift,) = RULE.check(settings, obs)
    assert drift.fixable and "Everything" in drift.message and ADMIN in drift.message
    (call,) = RULE.fix(settings, obs, (drift,))
    assert (call.operation, call.params) == (
        "PutRolePermissionsBoundary",
        {"RoleName": "orders-role", "PermissionsBoundary": BOUNDARY},
    )
    assert RULE.check(settings, seen(attached=(ADMIN,), boundary=BOUNDARY)) == ()
    assert RULE.check(settings, seen()) == ()  # nothing broad: no boundary needed


def test_boundary_never_replaces_another_boundary() -> None:
    settings = Settings(strategy="boundary", boundary_policy_arn=BOUNDARY)
    other = f"arn:aws:iam::{ACCOUNT}:policy/someone-elses"
    (drift,) = RULE.check(settings, seen(attached=(ADMIN,), boundary=other))
    assert not drift.fixable and other in drift.message


def test_alert_and_incomplete_inventory_change_nothing() -> None:
    (alert,) = RULE.check(Settings(strategy="alert"), seen(attached=(ADMIN,)))
    assert not alert.fixable
    (unknown,) = RULE.check(Settings(), seen(attached=(ADMIN,), apps=None))
    assert not unknown.fixable and "inventory incomplete" in unknown.message


def test_boundary_strategy_needs_a_boundary_arn() -> None:
    with pytest.raises(ValidationError, match="boundary_policy_arn"):
        Settings(strategy="boundary")
    with pytest.raises(ValidationError, match="policy ARN"):
        Settings(strategy="boundary", boundary_policy_arn="flink-boundary")


@pytest.mark.parametrize(
    ("statement", "reasons"),
    [
        (STAR, ["Action *", "iam:PassRole on Resource *"]),
        ({**NARROW, "Action": ["s3:*", "logs:PutLogEvents"]}, ["Action s3:*"]),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}, ["NotAction"]),
        ({**NARROW, "Action": "iam:Pass*", "Resource": ["*"]}, ["iam:PassRole on Resource *"]),
        ({"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE}, []),
        ({"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}, []),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, []),
    ],
)
def test_broad_statements(statement: dict[str, Any], reasons: list[str]) -> None:
    assert broad_reasons(statement) == reasons


@given(
    st.lists(
        st.sampled_from(
            [
                "kinesis:GetRecords",
                "s3:GetObject",
                "logs:PutLogEvents",
                "ec2:DescribeVpcs",
                "s3:Get*",
            ]
        ),
        min_size=1,
    )
)
def test_specific_actions_are_never_broad(actions: list[str]) -> None:
    obs = seen(inline={"p": doc({"Effect": "Allow", "Action": actions, "Resource": "*"})})
    assert RULE.check(Settings(), obs) == ()


# The drifted app's code is an S3 object its role reads through an inline policy too, so the
# detach is simulated (iam:SimulateCustomPolicy) and goes through.
CODE_LOCATION = {"BucketARN": "arn:aws:s3:::artifacts", "FileKey": "job.jar"}
CODE_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::artifacts/*"}
    ],
}
SCENARIO = Scenario(
    lambda h: Settings(),
    with_role(),
    with_role(
        policies=("arn:aws:iam::aws:policy/AdministratorAccess",),
        inline=CODE_READ,
        configuration={
            "ApplicationCodeConfiguration": {
                "CodeContentType": "ZIPFILE",
                "CodeContent": {"S3ContentLocation": CODE_LOCATION},
            }
        },
    ),
)
