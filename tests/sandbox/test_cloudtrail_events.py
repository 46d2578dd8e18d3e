"""CloudTrail envelopes: produced for watched mutating calls only, in the documented format,
delivered by the rules of config/eventbridge to the queue, naming the caller."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.server import Sandbox
from sandbox.testing import Credentials, receive_envelopes
from tests.sandbox.conftest import AppFactory

PATTERNS = {
    path.stem: json.loads(path.read_text())
    for path in (Path(__file__).resolve().parents[2] / "config" / "eventbridge").glob("*.json")
}
ENVELOPE_KEYS = {
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
}
DETAIL_KEYS = {
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "eventType",
    "apiVersion",
    "readOnly",
    "managementEvent",
    "recipientAccountId",
}
ISO_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}],
    }
)


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge matching for the literal-list patterns kept in config/eventbridge."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            key in event and matches(value, event[key]) for key, value in pattern.items()
        )
    return event in pattern


def keys_are_lower_camel(value: Any) -> bool:
    if isinstance(value, list):
        return all(keys_are_lower_camel(item) for item in value)
    if isinstance(value, dict):
        return all(
            not key[:1].isupper() and keys_are_lower_camel(item) for key, item in value.items()
        )
    return True


def check_envelope(envelope: dict[str, Any], sandbox: Sandbox) -> dict[str, Any]:
    assert set(envelope) == ENVELOPE_KEYS
    detail: dict[str, Any] = envelope["detail"]
    assert envelope["version"] == "0"
    assert envelope["detail-type"] == "AWS API Call via CloudTrail"
    assert envelope["account"] == sandbox.account_id
    assert envelope["resources"] == []
    assert ISO_SECONDS.match(envelope["time"]) and ISO_SECONDS.match(detail["eventTime"])
    assert set(detail) >= DETAIL_KEYS
    uuid.UUID(detail["eventID"])
    uuid.UUID(envelope["id"])
    assert detail["readOnly"] is False and detail["managementEvent"] is True
    assert detail["eventType"] == "AwsApiCall"
    assert detail["recipientAccountId"] == sandbox.account_id
    assert envelope["region"] == detail["awsRegion"]
    assert keys_are_lower_camel(detail["requestParameters"])
    assert keys_are_lower_camel(detail["responseElements"])
    assert [name for name, pattern in PATTERNS.items() if matches(pattern, envelope)], envelope
    return detail


@pytest.fixture
def events(fresh_sandbox: Sandbox, aws: Callable[..., Any]) -> Callable[..., list[Any]]:
    sqs = aws("sqs")

    def receive(expect: int | None = None) -> list[dict[str, Any]]:
        found = receive_envelopes(
            sqs, fresh_sandbox.queue_url, wait_seconds=2.0 if expect else 0.0, expect=expect
        )
        return [check_envelope(e, fresh_sandbox) | {"_envelope": e} for e in found]

    return receive


def test_deleting_a_logging_option_names_the_iam_user_who_did_it(
    fresh_sandbox: Sandbox,
    aws: Callable[..., Any],
    iam_user: Callable[..., Credentials],
    make_app: AppFactory,
    log_stream: Any,
    events: Callable[..., list[Any]],
) -> None:
    """The "Done when" scenario of issue 2."""
    stream = log_stream("/aws/kinesis-analytics/pay", "kinesis-analytics-log-stream")
    option = make_app("pay", CloudWatchLoggingOptions=[{"LogStreamARN": stream}])[
        "CloudWatchLoggingOptionDescriptions"
    ][0]["CloudWatchLoggingOptionId"]
    alice, bob = iam_user("alice"), iam_user("bob")
    events()  # drop the creation event
    aws("kinesisanalyticsv2", alice).delete_application_cloud_watch_logging_option(
        ApplicationName="pay", CurrentApplicationVersionId=1, CloudWatchLoggingOptionId=option
    )
    aws("kinesisanalyticsv2", bob).tag_resource(
        ResourceARN=f"arn:aws:kinesisanalytics:{fresh_sandbox.region}:"
        f"{fresh_sandbox.account_id}:application/pay",
        Tags=[{"Key": "k", "Value": "v"}],
    )

    deleted, tagged = events(expect=2)
    assert deleted["eventName"] == "DeleteApplicationCloudWatchLoggingOption"
    assert deleted["eventSource"] == "kinesisanalytics.amazonaws.com"
    assert deleted["_envelope"]["source"] == "aws.kinesisanalytics"
    assert deleted["userIdentity"]["type"] == "IAMUser"
    assert deleted["userIdentity"]["userName"] == "alice"
    assert deleted["userIdentity"]["arn"] == alice.arn
    assert deleted["userIdentity"]["accessKeyId"] == alice.access_key_id
    assert deleted["requestParameters"] == {
        "applicationName": "pay",
        "currentApplicationVersionId": 1,
        "cloudWatchLoggingOptionId": option,
    }
    assert deleted["responseElements"]["applicationVersionId"] == 2
    assert deleted["apiVersion"] == "2018-05-23"
    assert tagged["userIdentity"]["arn"] == bob.arn != alice.arn


def test_read_only_calls_produce_no_event(
    flink: Any, make_app: AppFactory, events: Callable[..., list[Any]], fresh_sandbox: Sandbox
) -> None:
    make_app("quiet")
    events()
    flink.describe_application(ApplicationName="quiet")
    flink.list_applications()
    flink.list_tags_for_resource(
        ResourceARN=f"arn:aws:kinesisanalytics:{fresh_sandbox.region}"
        f":{fresh_sandbox.account_id}:application/quiet"
    )
    assert events() == []
    calls = {c.operation: c for c in fresh_sandbox.calls() if c.service == "kinesisanalytics"}
    assert calls["CreateApplication"].mutating and calls["CreateApplication"].emitted
    for read in ("DescribeApplication", "ListApplications", "ListTagsForResource"):
        assert not calls[read].mutating and not calls[read].emitted


def test_failed_calls_produce_a_record_with_error_code(
    flink: Any, make_app: AppFactory, events: Callable[..., list[Any]]
) -> None:
    make_app("fail")
    events()
    with pytest.raises(ClientError):
        flink.update_application(
            ApplicationName="fail",
            CurrentApplicationVersionId=7,
            ApplicationConfigurationUpdate={
                "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True}
            },
        )
    (failed,) = events(expect=1)
    assert failed["errorCode"] == "ConcurrentModificationException"
    assert failed["errorMessage"]
    assert failed["responseElements"] is None


def test_iam_role_changes_are_recorded_in_us_east_1_and_reach_the_queue(
    aws: Callable[..., Any], events: Callable[..., list[Any]], iam_user: Callable[..., Credentials]
) -> None:
    iam = aws("iam")
    iam.create_role(
        RoleName="exec",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    mallory = iam_user("mallory")
    as_mallory = aws("iam", mallory)
    as_mallory.put_role_policy(RoleName="exec", PolicyName="p", PolicyDocument=POLICY)
    as_mallory.attach_role_policy(
        RoleName="exec", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    iam.get_role(RoleName="exec")  # read-only: nothing
    put, attach = events(expect=2)
    assert (put["eventName"], attach["eventName"]) == ("PutRolePolicy", "AttachRolePolicy")
    assert put["eventSource"] == "iam.amazonaws.com" and put["awsRegion"] == "us-east-1"
    assert put["_envelope"]["source"] == "aws.iam"
    assert put["requestParameters"] == {
        "roleName": "exec",
        "policyName": "p",
        "policyDocument": POLICY,
    }
    assert attach["requestParameters"]["policyArn"].endswith("AdministratorAccess")
    assert put["userIdentity"]["arn"] == mallory.arn


def test_assumed_role_sessions_appear_as_assumed_role(
    aws: Callable[..., Any], events: Callable[..., list[Any]], fresh_sandbox: Sandbox
) -> None:
    iam = aws("iam")
    role_arn = iam.create_role(RoleName="operator", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.create_role(RoleName="target", AssumeRolePolicyDocument="{}")
    credentials = aws("sts").assume_role(RoleArn=role_arn, RoleSessionName="oncall")["Credentials"]
    session = Credentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )
    aws("iam", session).delete_role_permissions_boundary(RoleName="target")
    (event,) = events(expect=1)
    identity = event["userIdentity"]
    assert identity["type"] == "AssumedRole"
    account = fresh_sandbox.account_id
    assert identity["arn"] == f"arn:aws:sts::{account}:assumed-role/operator/oncall"
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == role_arn
    assert identity["sessionContext"]["sessionIssuer"]["type"] == "Role"
    assert aws("sts", session).get_caller_identity()["Arn"] == identity["arn"]


def test_other_keys_appear_as_their_get_caller_identity_principal(
    aws: Callable[..., Any], make_app: AppFactory, events: Callable[..., list[Any]]
) -> None:
    make_app("who")
    (created,) = events(expect=1)
    assert created["userIdentity"]["arn"] == aws("sts").get_caller_identity()["Arn"]


def test_route_changes_are_recorded(
    aws: Callable[..., Any], events: Callable[..., list[Any]]
) -> None:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
    ec2.describe_route_tables()
    names = [e["eventName"] for e in events(expect=4)]
    assert names == ["AttachInternetGateway", "CreateRouteTable", "CreateRoute", "DeleteRoute"]


def test_create_route_record_carries_parameters(
    aws: Callable[..., Any], events: Callable[..., list[Any]]
) -> None:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    events()
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    (event,) = events(expect=1)
    assert event["requestParameters"] == {
        "routeTableId": table,
        "destinationCidrBlock": "0.0.0.0/0",
        "gatewayId": igw,
    }
    assert event["responseElements"]["_return"] is True


def test_a_disabled_rule_delivers_nothing(
    aws: Callable[..., Any], make_app: AppFactory, events: Callable[..., list[Any]]
) -> None:
    aws("events").disable_rule(Name="flink-remediator-flink-api-calls")
    make_app("silent")
    assert events() == []
