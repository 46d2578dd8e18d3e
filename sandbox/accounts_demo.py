"""`sandbox serve --demo --accounts N`: N member accounts beside the daemon's own (the hub).

moto is multi-account: keys from STS AssumeRole act in the role's account. Each member gets
the demo's network and applications, a human (`alice`) who makes drift, the member role the
daemon assumes (trusting the hub's daemon principal with an external id), and EventBridge
rules on its default bus (and in us-east-1 for IAM) that forward to the central bus in the
hub's account and Region, whose rules deliver to the one queue. The sandbox routes each
account's CloudTrail events through that account's own buses.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.demo import DEMO_APPS, Seeder
from sandbox.eventbridge import IAM_REGION, load_patterns

MEMBER_ROLE = "flink-remediator-member"
CENTRAL_BUS = "flink-remediator-central"
EXTERNAL_ID = "flink-remediator-demo"
ADMIN_ROLE = "OrganizationAccountAccessRole"  # how the seeding reaches a member account
FORWARDER_ROLE = "flink-remediator-forwarder"


def member_ids(count: int) -> tuple[str, ...]:
    return tuple(f"2{index:011d}" for index in range(1, count + 1))


def central_bus(hub: Seeder, queue_arn: str, members: tuple[str, ...]) -> str:
    """The hub's central bus: members may put events on it; its rules feed the queue."""
    events = hub.client("events")
    bus_arn: str = events.create_event_bus(Name=CENTRAL_BUS)["EventBusArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "members",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{m}:root" for m in members]},
                "Action": "events:PutEvents",
                "Resource": bus_arn,
            }
        ],
    }
    events.put_permission(EventBusName=CENTRAL_BUS, Policy=json.dumps(policy))
    for name, pattern in load_patterns().items():
        events.put_rule(
            Name=name, EventPattern=json.dumps(pattern), State="ENABLED", EventBusName=CENTRAL_BUS
        )
        events.put_targets(
            Rule=name, EventBusName=CENTRAL_BUS, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )
    return bus_arn


def member_seeder(hub: Seeder, account: str) -> Seeder:
    sts = hub.client("sts")
    keys = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ADMIN_ROLE}", RoleSessionName="demo-seeding"
    )["Credentials"]
    triple = (keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    return Seeder(hub.endpoint_url, hub.region, account, triple)


def member_role(member: Seeder, hub_account: str, daemon_arn: str) -> str:
    """The role the daemon assumes: trusts the hub's daemon principal with the external id."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": daemon_arn or f"arn:aws:iam::{hub_account}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
            }
        ],
    }
    iam = member.client("iam")
    arn: str = iam.create_role(RoleName=MEMBER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    return arn


def forwarders(member: Seeder, bus_arn: str) -> None:
    """Rules on the member's default bus (and us-east-1's, where IAM events are) that put
    every matching event on the central bus, with a role allowed events:PutEvents on it."""
    iam = member.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role_arn = iam.create_role(RoleName=FORWARDER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    put = {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arn}
    iam.put_role_policy(
        RoleName=FORWARDER_ROLE,
        PolicyName="put-central",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [put]}),
    )
    for name, pattern in load_patterns().items():
        region = IAM_REGION if pattern.get("source") == ["aws.iam"] else member.region
        events = member.client("events", region)
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        target = {"Id": "central", "Arn": bus_arn, "RoleArn": role_arn}
        events.put_targets(Rule=name, Targets=[target])


def seed_members(hub: Seeder, count: int, queue_arn: str, daemon_arn: str) -> dict[str, Any]:
    """Seed `count` member accounts; the JSON line's `accounts`, `central_bus_arn` and the
    config settings (`assume_role` template, `external_id`) the daemon needs to reach them."""
    members = member_ids(count)
    bus_arn = central_bus(hub, queue_arn, members)
    listed = []
    for account in members:
        member = member_seeder(hub, account)
        role_arn = member_role(member, hub.account_id, daemon_arn)
        forwarders(member, bus_arn)
        actor = member.users({"actor": "alice"})["actor"]
        network = member.network()
        for app in DEMO_APPS:
            member.application(app, network)
        member.wait_settled()
        listed.append(
            {
                "account_id": account,
                "role_arn": role_arn,
                "external_id": EXTERNAL_ID,
                "actor": actor,
                "network": network,
                "applications": [app.name for app in DEMO_APPS],
            }
        )
    return {
        "central_bus_arn": bus_arn,
        "assume_role": f"arn:aws:iam::{{account}}:role/{MEMBER_ROLE}",
        "external_id": EXTERNAL_ID,
        "accounts": listed,
    }
