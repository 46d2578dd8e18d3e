"""The router maps a route-table event to the apps whose subnets use the table, reading the
associations as the VPC rules do (remediations.network): a disassociated or failed association
no longer counts. The sandbox (moto) drops a disassociated association at once, while AWS keeps
listing it for a while, so this feeds DescribeRouteTables-shaped answers from a small fake."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.aws import AwsByRegion
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
    clients = AwsByRegion(lambda region: ec2)  # type: ignore[arg-type, return-value]
    return Router(inventory, lambda account: clients)


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


def test_every_app_an_event_names_is_owed_a_reconcile_whatever_its_time() -> None:
    """An event is a hint: the router never decides from the event's time that a reconcile is
    not needed (an extra reconcile finds nothing; a skipped one leaves a drift)."""
    observed = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
    app = AppRef(ACCOUNT, REGION, "orders")
    router = router_for(RouteTables(), (app, AppFacts()))
    for at in (observed - timedelta(hours=1), observed, None):
        assert router.apps_for(app_event("orders", at)) == {app}
