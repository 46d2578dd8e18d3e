"""The sandbox is multi-account like AWS: an assumed role's keys act in the role's account,
and Managed Flink, the call record and CloudTrail records (recipientAccountId, the account's own
buses) follow; a member's forwarder rules bring its events through the hub's central bus."""

from __future__ import annotations

from typing import Any

from sandbox.accounts_demo import central_bus, forwarders, member_seeder
from sandbox.demo import Seeder
from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, execution_role, receive_envelopes

MEMBER = "200000000007"


def _member_client(sandbox: Sandbox, service: str) -> Any:
    hub = client(sandbox.endpoint_url, sandbox.region, "sts")
    keys = hub.assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/admin", RoleSessionName="test")[
        "Credentials"
    ]
    creds = Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    return client(sandbox.endpoint_url, sandbox.region, service, creds)


def _create(flink: Any, iam: Any, name: str) -> None:
    flink.create_application(
        ApplicationName=name,
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=execution_role(iam),
    )


def test_each_account_has_its_own_flink_applications_and_records(fresh_sandbox: Sandbox) -> None:
    flink, iam = (
        _member_client(fresh_sandbox, "kinesisanalyticsv2"),
        _member_client(fresh_sandbox, "iam"),
    )
    _create(flink, iam, "member-app")
    detail = flink.describe_application(ApplicationName="member-app")["ApplicationDetail"]
    assert detail["ApplicationARN"].split(":")[4] == MEMBER
    assert detail["ServiceExecutionRole"].split(":")[4] == MEMBER
    hub = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "kinesisanalyticsv2")
    assert hub.list_applications()["ApplicationSummaries"] == []
    created = [c for c in fresh_sandbox.calls() if c.operation == "CreateApplication"]
    assert [c.account for c in created] == [MEMBER]
    assert created[0].caller_arn.startswith(f"arn:aws:sts::{MEMBER}:assumed-role/admin/")


def test_member_events_reach_the_queue_through_the_central_bus(fresh_sandbox: Sandbox) -> None:
    hub = Seeder(fresh_sandbox.endpoint_url, fresh_sandbox.region, fresh_sandbox.account_id)
    queue_arn = (
        f"arn:aws:sqs:{fresh_sandbox.region}:{fresh_sandbox.account_id}:"
        + (fresh_sandbox.queue_url.rsplit("/", 1)[-1])
    )
    sqs = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "sqs")
    flink, iam = (
        _member_client(fresh_sandbox, "kinesisanalyticsv2"),
        _member_client(fresh_sandbox, "iam"),
    )
    _create(flink, iam, "before-forwarding")
    assert receive_envelopes(sqs, fresh_sandbox.queue_url) == []  # no rule in the member yet
    bus = central_bus(hub, queue_arn, (MEMBER,))
    forwarders(member_seeder(hub, MEMBER), bus)
    _create(flink, iam, "after-forwarding")
    [event] = receive_envelopes(sqs, fresh_sandbox.queue_url, expect=1)
    assert event["account"] == MEMBER
    assert event["detail"]["recipientAccountId"] == MEMBER
    assert event["detail"]["requestParameters"]["applicationName"] == "after-forwarding"
    assert event["detail"]["userIdentity"]["accountId"] == MEMBER
