"""The sandbox's own HTTP control API: the call record, filters and reset."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.flink import store
from sandbox.server import Sandbox
from sandbox.testing import Credentials
from tests.sandbox.conftest import AppFactory


def http(sandbox: Sandbox, method: str, path: str, body: bytes | None = None) -> Any:
    request = urllib.request.Request(sandbox.endpoint_url + path, data=body, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_calls_record_who_did_what(
    fresh_sandbox: Sandbox,
    aws: Callable[..., Any],
    iam_user: Callable[..., Credentials],
    make_app: AppFactory,
) -> None:
    carol = iam_user("carol")
    make_app("rec")
    flink_as_carol = aws("kinesisanalyticsv2", carol)
    flink_as_carol.describe_application(ApplicationName="rec")
    flink_as_carol.start_application(ApplicationName="rec")

    calls = http(fresh_sandbox, "GET", "/_sandbox/calls?service=kinesisanalytics")["calls"]
    assert [(c["operation"], c["mutating"]) for c in calls] == [
        ("CreateApplication", True),
        ("DescribeApplication", False),
        ("StartApplication", True),
    ]
    assert calls[2]["caller_arn"] == carol.arn and calls[2]["emitted"] is True
    mutating_by_carol = http(
        fresh_sandbox, "GET", f"/_sandbox/calls?mutating=true&caller_arn={carol.arn}"
    )["calls"]
    assert [c["operation"] for c in mutating_by_carol] == ["StartApplication"]


def test_failed_calls_are_recorded_with_their_error_code(
    fresh_sandbox: Sandbox, aws: Callable[..., Any]
) -> None:
    with pytest.raises(ClientError):
        aws("iam").get_role(RoleName="missing")
    (call,) = http(fresh_sandbox, "GET", "/_sandbox/calls?service=iam")["calls"]
    assert call["operation"] == "GetRole" and call["error_code"] == "NoSuchEntity"


def test_reset_forgets_everything_but_reprovisions_queues_and_rules(
    fresh_sandbox: Sandbox, aws: Callable[..., Any], make_app: AppFactory
) -> None:
    make_app("gone")
    aws("iam").create_user(UserName="gone")
    info = http(fresh_sandbox, "POST", "/_sandbox/reset", b"")
    assert info["queue_url"] == fresh_sandbox.queue_url
    assert aws("kinesisanalyticsv2").list_applications()["ApplicationSummaries"] == []
    assert aws("iam").list_users()["Users"] == []
    rules = {r["Name"] for r in aws("events").list_rules()["Rules"]}
    assert rules == {
        "flink-remediator-flink-api-calls",
        "flink-remediator-iam-role-changes",
        "flink-remediator-ec2-route-changes",
    }
    # The record restarts at the reset: only the three reads above remain.
    calls = http(fresh_sandbox, "GET", "/_sandbox/calls")["calls"]
    assert [c["operation"] for c in calls] == ["ListApplications", "ListUsers", "ListRules"]


def test_queue_has_a_redrive_policy_to_the_dlq(
    fresh_sandbox: Sandbox, aws: Callable[..., Any]
) -> None:
    sqs = aws("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=fresh_sandbox.queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=fresh_sandbox.dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert int(redrive["maxReceiveCount"]) == 5


def test_config_endpoint_sets_the_transition_time(fresh_sandbox: Sandbox) -> None:
    info = http(
        fresh_sandbox, "POST", "/_sandbox/config", json.dumps({"transition_seconds": 1.5}).encode()
    )
    assert info["transition_seconds"] == 1.5


def test_routes_to_a_detached_internet_gateway_are_blackhole(
    fresh_sandbox: Sandbox, aws: Callable[..., Any]
) -> None:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)

    def default_route_state() -> str:
        routes = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
        return str(next(r for r in routes if r.get("DestinationCidrBlock") == "0.0.0.0/0")["State"])

    assert default_route_state() == "active"
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    assert default_route_state() == "blackhole"


def test_config_endpoint_raises_the_application_quota(fresh_sandbox: Sandbox) -> None:
    """The per-Region quota is 100, as the service's, until a benchmark raises it."""
    backend = fresh_sandbox.middleware.flink_backend(fresh_sandbox.region)
    assert backend.max_applications == store.MAX_APPLICATIONS == 100
    body = json.dumps({"max_applications": 5000}).encode()
    try:
        http(fresh_sandbox, "POST", "/_sandbox/config", body)
        assert backend.max_applications == 5000
        assert fresh_sandbox.middleware.flink_backend("us-west-2").max_applications == 5000
    finally:
        fresh_sandbox.middleware.set_max_applications(store.MAX_APPLICATIONS)
