"""Fixtures for the sandbox's own tests: a Flink client and a factory of applications."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sandbox.server import Sandbox
from sandbox.shapes import output_problems
from sandbox.testing import execution_role

AppFactory = Callable[..., dict[str, Any]]


def assert_shape(operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """Fail unless `response` (boto3's parsed answer) fits the real kinesisanalyticsv2 shape."""
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    problems = output_problems("kinesisanalyticsv2", operation, body)
    assert problems == [], problems
    return body


@pytest.fixture
def flink(fresh_sandbox: Sandbox, aws: Callable[..., Any]) -> Any:
    return aws("kinesisanalyticsv2")


@pytest.fixture
def log_stream(fresh_sandbox: Sandbox, aws: Callable[..., Any]) -> Callable[[str, str], str]:
    """log_stream(group, stream) creates the stream in the sandbox and returns its ARN."""
    logs = aws("logs")

    def make(group: str, stream: str) -> str:
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        return (
            f"arn:aws:logs:{fresh_sandbox.region}:{fresh_sandbox.account_id}:log-group:"
            f"{group}:log-stream:{stream}"
        )

    return make


@pytest.fixture
def network(fresh_sandbox: Sandbox, aws: Callable[..., Any]) -> dict[str, str]:
    """A VPC with two subnets and a security group, plus a second VPC's subnet."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    zone = f"{fresh_sandbox.region}a"
    return {
        "vpc_id": vpc,
        "subnet_a": ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24", AvailabilityZone=zone)[
            "Subnet"
        ]["SubnetId"],
        "subnet_b": ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.2.0/24", AvailabilityZone=zone)[
            "Subnet"
        ]["SubnetId"],
        "other_vpc_subnet": ec2.create_subnet(
            VpcId=other_vpc, CidrBlock="10.2.1.0/24", AvailabilityZone=zone
        )["Subnet"]["SubnetId"],
        "security_group": ec2.create_security_group(
            GroupName="apps", Description="apps", VpcId=vpc
        )["GroupId"],
    }


@pytest.fixture
def make_app(flink: Any, fresh_sandbox: Sandbox, aws: Callable[..., Any]) -> AppFactory:
    """make_app(name, **CreateApplication kwargs) -> ApplicationDetail (with a trusting role)."""

    def make(name: str, **kwargs: Any) -> dict[str, Any]:
        role = execution_role(aws("iam"))
        request = {
            "ApplicationName": name,
            "RuntimeEnvironment": "FLINK-1_20",
            "ServiceExecutionRole": role,
            **kwargs,
        }
        response = flink.create_application(**request)
        return assert_shape("CreateApplication", response)["ApplicationDetail"]  # type: ignore[no-any-return]

    return make
