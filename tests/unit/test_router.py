"""The router maps a route-table event to the apps whose subnets use the table, reading the
associations as the VPC rules do (remediations.network): a disassociated or failed association
no longer counts. The sandbox (moto) drops a disassociated association at once, while AWS keeps
listing it for a while, so this feeds DescribeRouteTables-shaped answers from a small fake."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.ingest.events import Hint
from daemon.ingest.router import Router
from daemon.reconcile.inventory import AppFacts, Inventory
from daemon.state import AppRef
from tests.vpc_factories import VPC, table

ACCOUNT, REGION = "123456789012", "us-east-1"


class RouteTables:
    """DescribeRouteTables by RouteTableIds, as EC2 answers it."""

    def __init__(self, *tables: dict[str, Any]) -> None:
        self._tables = {t["RouteTableId"]: t for t in tables}
        self.calls: list[tuple[str, str]] = []

    def call(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]:
        self.calls.append((service, operation))
        assert (service, operation) == ("ec2", "DescribeRouteTables")
        return {"RouteTables": [self._tables[i] for i in params["RouteTableIds"]]}


def app_in(name: str, subnet: str) -> tuple[AppRef, AppFacts]:
    return AppRef(ACCOUNT, REGION, name), AppFacts(
        subnet_ids=frozenset({subnet}), vpc_ids=frozenset({VPC})
    )


def route_event(table_id: str) -> Hint:
    return Hint(
        event_id="e-1",
        event_name="CreateRoute",
        source="aws.ec2",
        account=ACCOUNT,
        region=REGION,
        event_time=None,
        actor="arn:aws:iam::123456789012:user/someone",
        actor_type="IAMUser",
        route_table_ids=(table_id,),
    )


def router_for(ec2: RouteTables, *apps: tuple[AppRef, AppFacts]) -> Router:
    inventory = Inventory()
    for app, facts in apps:
        inventory.update(app, facts)
    return Router(inventory, lambda region: ec2)  # type: ignore[arg-type, return-value]


def test_a_route_table_event_reaches_the_apps_of_its_live_associations_only() -> None:
    rtb = table("rtb-1", subnets=("subnet-new",))
    rtb["Associations"] += table(
        "rtb-1", subnets=("subnet-old", "subnet-bad"), association_state="disassociated"
    )["Associations"]
    rtb["Associations"][-1]["AssociationState"] = {"State": "failed"}
    old, new, bad = (
        app_in("old", "subnet-old"),
        app_in("new", "subnet-new"),
        app_in("bad", "subnet-bad"),
    )
    router = router_for(RouteTables(rtb), old, new, bad)
    assert router.apps_for(route_event("rtb-1")) == {new[0]}


def test_a_main_table_event_reaches_every_app_of_its_vpc() -> None:
    ec2 = RouteTables(table("rtb-main", main=True))
    one, other = app_in("one", "subnet-1"), app_in("other", "subnet-2")
    assert router_for(ec2, one, other).apps_for(route_event("rtb-main")) == {one[0], other[0]}
    assert ec2.calls == [("ec2", "DescribeRouteTables")]


def app_event(name: str, at: datetime | None, source: str = "aws.kinesisanalytics") -> Hint:
    return Hint(
        event_id="e-2",
        event_name="UpdateApplication",
        source=source,
        account=ACCOUNT,
        region=REGION,
        event_time=at,
        actor="arn:aws:iam::123456789012:user/someone",
        actor_type="IAMUser",
        app_names=(name,),
    )


def test_an_app_event_older_than_the_last_observed_update_owes_no_reconcile() -> None:
    """The inventory's facts came from a read of a version updated after the event's second:
    that read saw the change. Anything not certainly older still routes."""
    observed = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
    app = AppRef(ACCOUNT, REGION, "orders")
    router = router_for(RouteTables(), (app, AppFacts(updated_at=observed.timestamp())))
    assert router.apps_for(app_event("orders", observed - timedelta(seconds=1))) == set()
    # eventTime is truncated to the second: the same second may be later than the read.
    assert router.apps_for(app_event("orders", observed - timedelta(seconds=0.5))) == {app}
    assert router.apps_for(app_event("orders", observed)) == {app}
    assert router.apps_for(app_event("orders", None)) == {app}
    assert router.apps_for(app_event("other", observed - timedelta(hours=1))) == {
        AppRef(ACCOUNT, REGION, "other")
    }


def test_last_update_comes_from_the_detail_the_inventory_saw() -> None:
    updated = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
    facts = AppFacts.from_detail({"LastUpdateTimestamp": updated})
    assert facts.updated_at == updated.timestamp()
    assert AppFacts.from_detail({}).updated_at == 0.0
