"""Route throughput on one core: events -> applications over an N-app inventory, by kind.

The inventory is built as a sweep builds it (AppFacts.from_detail); the AWS look-ups a route
table or managed policy needs are answered by a stand-in once and then remembered by the Router
(its TTL), as in a burst. Prints nothing itself; `suite.py` prints the figures.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from daemon.ingest.events import Hint
from daemon.ingest.router import Router
from daemon.reconcile.inventory import AppFacts, Inventory
from daemon.state import AppRef

ACCOUNT, REGION = "123456789012", "eu-west-1"


class StandIn:
    """DescribeRouteTables / ListEntitiesForPolicy answers for the synthetic account."""

    def region(self, region: str) -> StandIn:
        """The router asks per account, then per Region (AwsByRegion): one stand-in for all."""
        return self

    def call(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]:
        if operation == "ListEntitiesForPolicy":
            return {"PolicyRoles": [{"RoleName": "role-1"}], "IsTruncated": False}
        table = params["RouteTableIds"][0]
        subnet = "subnet-" + table.split("-", 1)[1]
        association = {
            "SubnetId": subnet,
            "Main": False,
            "AssociationState": {"State": "associated"},
        }
        return {
            "RouteTables": [
                {"RouteTableId": table, "VpcId": "vpc-1", "Associations": [association]}
            ]
        }


def inventory_of(apps: int) -> Inventory:
    inventory = Inventory()
    for i in range(apps):
        detail: dict[str, Any] = {
            "ServiceExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/role-{i % 200}",
            "ApplicationConfigurationDescription": {
                "VpcConfigurationDescriptions": [
                    {"VpcId": f"vpc-{i % 50}", "SubnetIds": [f"subnet-{i % 500}"]}
                ]
                if i % 2
                else []
            },
        }
        inventory.update(AppRef(ACCOUNT, REGION, f"app-{i:05d}"), AppFacts.from_detail(detail))
    return inventory


def hints(apps: int, count: int) -> dict[str, list[Hint]]:
    rng = random.Random(16)
    base: dict[str, Any] = dict(
        event_id="e",
        account=ACCOUNT,
        region=REGION,
        event_time=None,
        actor="",
        actor_type="IAMUser",
    )

    def one(kind: str) -> Hint:
        n = rng.randrange(apps)
        if kind == "app":
            return Hint(
                event_name="UpdateApplication",
                source="aws.kinesisanalytics",
                app_names=(f"app-{n:05d}",),
                **base,
            )
        if kind == "role":
            return Hint(
                event_name="PutRolePolicy",
                source="aws.iam",
                role_names=(f"role-{n % 200}",),
                **base,
            )
        if kind == "policy":
            return Hint(
                event_name="CreatePolicyVersion",
                source="aws.iam",
                policy_arns=(f"arn:aws:iam::{ACCOUNT}:policy/p{n % 20}",),
                **base,
            )
        if kind == "subnet":
            return Hint(
                event_name="ModifySubnetAttribute",
                source="aws.ec2",
                subnet_ids=(f"subnet-{n % 500}",),
                **base,
            )
        if kind == "vpc":
            return Hint(
                event_name="AttachInternetGateway",
                source="aws.ec2",
                vpc_ids=(f"vpc-{n % 50}",),
                **base,
            )
        return Hint(
            event_name="CreateRoute", source="aws.ec2", route_table_ids=(f"rtb-{n % 500}",), **base
        )

    kinds = ("app", "role", "policy", "subnet", "vpc", "route_table")
    return {kind: [one(kind) for _ in range(count)] for kind in kinds}


def throughput(apps: int, count: int = 20_000) -> dict[str, float]:
    """Events per second by kind, and over all kinds mixed (after one warm-up pass, so the
    remembered AWS look-ups are warm as they are in a burst)."""
    router = Router(inventory_of(apps), lambda account: StandIn())  # type: ignore[arg-type, return-value]
    by_kind = hints(apps, count)
    figures: dict[str, float] = {}
    for kind, events in by_kind.items():
        for hint in events[:1000]:
            router.apps_for(hint)
        started = time.perf_counter()
        for hint in events:
            router.apps_for(hint)
        figures[kind] = count / (time.perf_counter() - started)
    mixed = [h for events in zip(*by_kind.values(), strict=True) for h in events]
    started = time.perf_counter()
    for hint in mixed:
        router.apps_for(hint)
    figures["mixed"] = len(mixed) / (time.perf_counter() - started)
    return figures
