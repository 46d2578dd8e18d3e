"""The router maps NAT gateway, prefix list and network ACL events to the apps they may expose,
reading the sandbox's EC2 over HTTP through the daemon's AWS boundary
(daemon/ingest/network_lookups.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from daemon.aws import AwsByRegion
from daemon.ingest.events import Hint
from daemon.ingest.router import Router
from daemon.reconcile.inventory import AppFacts, Inventory
from daemon.state import AppRef
from sandbox.server import Sandbox
from tests.vpc_factories import Network, build_network, daemon_aws_for


@pytest.fixture
def net(fresh_sandbox: Sandbox, aws: Callable[..., Any]) -> Network:
    return build_network(aws("ec2"), fresh_sandbox.region)


def test_nat_prefix_list_and_acl_events_reach_the_apps_they_touch(
    fresh_sandbox: Sandbox, aws: Callable[..., Any], net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    ec2 = aws("ec2")
    account, region = fresh_sandbox.account_id, fresh_sandbox.region
    other = build_network(ec2, region, cidr="10.8.0.0/16")
    inventory = Inventory()
    apps = {}
    for name, network in (("in-net", net), ("elsewhere", other)):
        apps[name] = AppRef(account, region, name)
        inventory.update(
            apps[name],
            AppFacts(subnet_ids=frozenset({network.subnet_a}), vpc_ids=frozenset({network.vpc})),
        )
    daemon_aws = daemon_aws_for(fresh_sandbox.endpoint_url, region, monkeypatch)
    router = Router(inventory, lambda _: AwsByRegion(lambda _: daemon_aws))

    def event(**targets: tuple[str, ...]) -> set[str]:
        hint = Hint("e-1", "X", "aws.ec2", account, region, None, "", "IAMUser", **targets)  # type: ignore[arg-type]
        return {a.name for a in router.apps_for(hint)}

    assert event(nat_gateway_ids=(net.nat,)) == {"in-net"}
    assert event(nat_gateway_ids=("nat-0000000000000000",)) == set()
    listed = ec2.create_managed_prefix_list(
        PrefixListName="p", MaxEntries=2, AddressFamily="IPv4", Entries=[{"Cidr": "52.0.0.0/8"}]
    )["PrefixList"]["PrefixListId"]
    assert event(prefix_list_ids=(listed,)) == set()  # no route uses it yet
    ec2.create_route(
        RouteTableId=other.main_table, DestinationPrefixListId=listed, GatewayId=other.igw
    )
    assert event(prefix_list_ids=(listed,)) == {"elsewhere"}  # its VPC's main table
    (acl,) = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [net.subnet_a]}]
    )["NetworkAcls"]
    assert event(network_acl_ids=(acl["NetworkAclId"],)) == {"in-net"}
