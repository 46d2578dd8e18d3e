"""The service assumes the execution role at every start, restart and rollback, evaluating the
trust policy (conditions, Deny) with aws:SourceArn/aws:SourceAccount of that application."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.flink.trust import service_may_assume
from sandbox.server import Sandbox
from sandbox.testing import advance_clock, next_update
from tests.sandbox.conftest import AppFactory, assert_shape

SERVICE = {"Service": "kinesisanalytics.amazonaws.com"}


def trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(condition: dict[str, Any] | None = None, effect: str = "Allow") -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect, "Principal": SERVICE, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return statement


APP = "arn:aws:kinesisanalytics:eu-west-1:123456789012:application/orders"


@pytest.mark.parametrize(
    ("document", "allowed"),
    [
        (trust(allow()), True),
        (trust(allow({"StringEquals": {"aws:SourceAccount": "123456789012"}})), True),
        (trust(allow({"StringEquals": {"aws:SourceAccount": "999999999999"}})), False),
        (trust(allow({"ArnEquals": {"aws:SourceArn": APP}})), True),
        (trust(allow({"ArnEquals": {"aws:SourceArn": APP + "-other"}})), False),
        (trust(allow({"ArnLike": {"aws:SourceArn": APP.rsplit("/", 1)[0] + "/ord*"}})), True),
        (trust(allow({"StringLike": {"aws:SourceArn": "*:application/pay*"}})), False),
        (trust(allow({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}})), True),
        (
            trust(
                allow({"ForAnyValue:StringEquals": {"aws:SourceAccount": ["1", "123456789012"]}})
            ),
            True,
        ),
        (
            trust(allow({"NumericLessThan": {"aws:MultiFactorAuthAge": "1"}})),
            False,
        ),  # unknown: closed
        (
            trust(allow(), allow({"StringEquals": {"aws:SourceAccount": "123456789012"}}, "Deny")),
            False,
        ),
        (trust(allow(), allow({"StringNotEquals": {"aws:SourceArn": APP}}, "Deny")), True),
        (trust({**allow(), "Principal": {"Service": "lambda.amazonaws.com"}}), False),
        (trust({**allow(), "Action": "sts:*"}), True),
    ],
)
def test_trust_policy_evaluation(document: str, allowed: bool) -> None:
    assert service_may_assume(document, APP, "123456789012") is allowed


def _role(aws: Any, name: str, document: str) -> str:
    return str(
        aws("iam").create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"]
    )


def _status(flink: Any, name: str) -> dict[str, Any]:
    return flink.describe_application(ApplicationName=name)["ApplicationDetail"]  # type: ignore[no-any-return]


def _last_operation(flink: Any, name: str) -> dict[str, Any]:
    newest = flink.list_application_operations(ApplicationName=name)[
        "ApplicationOperationInfoList"
    ][0]
    details = flink.describe_application_operation(
        ApplicationName=name, OperationId=newest["OperationId"]
    )
    return assert_shape("DescribeApplicationOperation", details)["ApplicationOperationInfoDetails"]  # type: ignore[no-any-return]


def test_a_wrong_source_arn_makes_the_restart_fail_and_stops_the_job(
    flink: Any, aws: Any, fresh_sandbox: Sandbox, make_app: AppFactory
) -> None:
    arn = f"arn:aws:kinesisanalytics:{fresh_sandbox.region}:{fresh_sandbox.account_id}:application"
    role = _role(aws, "scoped", trust(allow({"ArnEquals": {"aws:SourceArn": f"{arn}/orders"}})))
    iam = aws("iam")
    make_app("orders", ServiceExecutionRole=role)
    flink.start_application(ApplicationName="orders")
    advance_clock(fresh_sandbox.endpoint_url, 1)
    assert _status(flink, "orders")["ApplicationStatus"] == "RUNNING"
    # Someone rewrites the trust with another app's ARN: nothing happens until the next restart.
    iam.update_assume_role_policy(
        RoleName="scoped",
        PolicyDocument=trust(allow({"ArnEquals": {"aws:SourceArn": f"{arn}/payments"}})),
    )
    assert _status(flink, "orders")["ApplicationStatus"] == "RUNNING"
    flink.update_application(
        ApplicationName="orders",
        CurrentApplicationVersionId=1,
        ApplicationConfigurationUpdate={
            "ApplicationSystemRollbackConfigurationUpdate": {"RollbackEnabledUpdate": True}
        },
    )
    advance_clock(fresh_sandbox.endpoint_url, 1)
    detail = _status(flink, "orders")
    assert (detail["ApplicationStatus"], detail["ApplicationVersionId"]) == ("READY", 2)
    failed = _last_operation(flink, "orders")
    assert failed["OperationStatus"] == "FAILED"
    assert (
        "could not assume the role" in failed["OperationFailureDetails"]["ErrorInfo"]["ErrorString"]
    )
    # A start fails the same way; with the trust put right it starts.
    flink.start_application(ApplicationName="orders")
    advance_clock(fresh_sandbox.endpoint_url, 1)
    assert _status(flink, "orders")["ApplicationStatus"] == "READY"
    assert _last_operation(flink, "orders")["Operation"] == "StartApplication"
    iam.update_assume_role_policy(
        RoleName="scoped",
        PolicyDocument=trust(allow({"ArnEquals": {"aws:SourceArn": f"{arn}/orders"}})),
    )
    flink.start_application(ApplicationName="orders")
    advance_clock(fresh_sandbox.endpoint_url, 1)
    assert _status(flink, "orders")["ApplicationStatus"] == "RUNNING"


def test_a_system_rollback_that_cannot_assume_the_role_leaves_the_app_ready(
    flink: Any, aws: Any, fresh_sandbox: Sandbox, make_app: AppFactory
) -> None:
    role = _role(aws, "open", trust(allow()))
    config = {"ApplicationSystemRollbackConfiguration": {"RollbackEnabled": True}}
    make_app("rb", ServiceExecutionRole=role, ApplicationConfiguration=config)
    flink.start_application(ApplicationName="rb")
    advance_clock(fresh_sandbox.endpoint_url, 1)
    assert _status(flink, "rb")["ApplicationStatus"] == "RUNNING"  # the start settles on a read
    aws("iam").update_assume_role_policy(
        RoleName="open", PolicyDocument=trust(allow(effect="Deny"))
    )
    next_update(fresh_sandbox.endpoint_url, "rb", "fail", 10)
    flink.update_application(
        ApplicationName="rb",
        CurrentApplicationVersionId=1,
        ApplicationConfigurationUpdate={
            "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True}
        },
    )
    advance_clock(fresh_sandbox.endpoint_url, 21)
    detail = _status(flink, "rb")
    assert (detail["ApplicationStatus"], detail["ApplicationVersionId"]) == ("READY", 2)
    rollback = _last_operation(flink, "rb")
    assert (rollback["Operation"], rollback["OperationStatus"]) == ("RollbackApplication", "FAILED")


def test_create_evaluates_the_trust_for_the_new_application(
    flink: Any, aws: Any, fresh_sandbox: Sandbox, make_app: AppFactory
) -> None:
    arn = f"arn:aws:kinesisanalytics:{fresh_sandbox.region}:{fresh_sandbox.account_id}:application"
    role = _role(aws, "for-a", trust(allow({"ArnEquals": {"aws:SourceArn": f"{arn}/a"}})))
    make_app("a", ServiceExecutionRole=role)
    with pytest.raises(ClientError) as refused:
        make_app("b", ServiceExecutionRole=role)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidArgumentException"
    assert not error["Message"].startswith("ServiceExecutionRole")
