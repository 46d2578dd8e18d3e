"""Issue 24 end to end: the daemon runs against the demo sandbox with vpc_public_route only, and
each way out of risk-aggregator's private subnet raises the violation within seconds of its
CloudTrail event (split default routes, a public /8, a prefix list that gains a public CIDR,
::/1 + 8000::/1, a public NAT gateway) and clears when undone (also by DeleteNatGateway and
ModifyManagedPrefixList events alone); a private route and a VPC endpoint raise nothing."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.configs import write_config
from tests.harness import DaemonProcess, SandboxProcess, wait_until

pytestmark = pytest.mark.e2e
APP, RULE = "risk-aggregator", "vpc_public_route"  # in the demo's private subnet
SECONDS = 20


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    running = SandboxProcess()
    yield running
    running.stop()


@pytest.fixture
def daemon(sandbox: SandboxProcess, tmp_path: Path) -> Iterator[DaemonProcess]:
    config = write_config(tmp_path / "vpc.yaml", enabled=(RULE,))
    running = DaemonProcess(sandbox, config, tmp_path / "daemon.log")
    running.wait_for("sweep_finished", timeout=120)
    yield running
    running.stop(signal.SIGKILL)


def test_every_way_out_raises_and_clears_on_its_own_event(
    sandbox: SandboxProcess, daemon: DaemonProcess
) -> None:
    ec2 = sandbox.client("ec2")
    net = sandbox.info["network"]
    table = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [net["private_subnet_id"]]}]
    )["RouteTables"][0]["RouteTableId"]
    igw = ec2.describe_internet_gateways()["InternetGateways"][0]["InternetGatewayId"]

    def gauge() -> float | None:
        return daemon.metric("flink_remediator_violation_active", application=APP, rule=RULE)

    def reconciles() -> int:
        return len(daemon.events("reconcile_finished", app=APP))

    def alerts() -> list[dict[str, Any]]:
        return daemon.events("violation_alerted", app=APP, rule=RULE)

    def raised_by(change: Callable[[], None], *words: str) -> None:
        before = len(alerts())
        change()
        wait_until(lambda: gauge() == 1, SECONDS, "the violation to rise")
        message = alerts()[before]["message"]
        assert table in message and all(w in message for w in words), message

    def cleared_by(change: Callable[[], None]) -> None:
        change()
        wait_until(lambda: gauge() == 0, SECONDS, "the violation to clear")

    def route(cidr: str, **target: str) -> Callable[[], None]:
        key = "DestinationIpv6CidrBlock" if ":" in cidr else "DestinationCidrBlock"
        return lambda: ec2.create_route(RouteTableId=table, **{key: cidr}, **target)

    def routes(*cidrs: str, **target: str) -> Callable[[], None]:
        def run() -> None:
            for cidr in cidrs:
                route(cidr, **target)()

        return run

    def delete(*cidrs: str) -> Callable[[], None]:
        def run() -> None:
            for cidr in cidrs:
                key = "DestinationIpv6CidrBlock" if ":" in cidr else "DestinationCidrBlock"
                ec2.delete_route(RouteTableId=table, **{key: cidr})

        return run

    assert gauge() == 0
    # Split default routes, then a public /8, then IPv6 halves: each to the internet gateway.
    for cidrs in (("0.0.0.0/1", "128.0.0.0/1"), ("52.0.0.0/8",), ("::/1", "8000::/1")):
        raised_by(routes(*cidrs, GatewayId=igw), cidrs[0], igw)
        cleared_by(delete(*cidrs))

    # A prefix list of private CIDRs to the gateway is no path; adding a public one is.
    listed = ec2.create_managed_prefix_list(
        PrefixListName="partners",
        MaxEntries=5,
        AddressFamily="IPv4",
        Entries=[{"Cidr": "192.168.0.0/16"}],
    )["PrefixList"]["PrefixListId"]
    seen = reconciles()
    ec2.create_route(RouteTableId=table, DestinationPrefixListId=listed, GatewayId=igw)
    wait_until(lambda: reconciles() > seen, SECONDS, "the CreateRoute reconcile")
    assert gauge() == 0
    raised_by(
        lambda: ec2.modify_managed_prefix_list(
            PrefixListId=listed, CurrentVersion=1, AddEntries=[{"Cidr": "52.0.0.0/8"}]
        ),
        listed,
        "partners",
    )
    cleared_by(
        lambda: ec2.modify_managed_prefix_list(
            PrefixListId=listed, CurrentVersion=2, RemoveEntries=[{"Cidr": "52.0.0.0/8"}]
        )
    )
    ec2.delete_route(RouteTableId=table, DestinationPrefixListId=listed)

    # A public NAT gateway: internet_egress; deleting the gateway blackholes the route.
    nat = ec2.create_nat_gateway(
        SubnetId=net["public_subnet_id"],
        AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"],
    )["NatGateway"]["NatGatewayId"]
    raised_by(route("0.0.0.0/0", NatGatewayId=nat), "internet_egress", nat)
    cleared_by(lambda: ec2.delete_nat_gateway(NatGatewayId=nat))
    ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")

    # Private space to the gateway and a gateway endpoint: reconciled, nothing raised.
    seen = reconciles()
    route("10.0.0.0/8", GatewayId=igw)()
    ec2.create_vpc_endpoint(
        VpcId=net["vpc_id"],
        ServiceName=f"com.amazonaws.{sandbox.info['region']}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[table],
    )
    wait_until(lambda: reconciles() > seen, SECONDS, "the CreateRoute reconcile")
    assert gauge() == 0
