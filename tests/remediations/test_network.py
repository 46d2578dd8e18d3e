"""remediations.network: which route table a subnet uses, which routes reach the internet,
which security groups allow all egress; pure, with property tests over generated tables."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediations.network import (
    PublicRoute,
    effective_route_table,
    open_egress,
    public_routes,
    served_by,
)
from tests.vpc_factories import VPC, route, routes_strategy, table

# --- effective_route_table -------------------------------------------------------------------


def test_explicit_association_wins_over_the_main_table() -> None:
    tables = [table("rtb-main", main=True), table("rtb-a", subnets=("subnet-a",))]
    assert effective_route_table("subnet-a", VPC, tables) == "rtb-a"
    assert effective_route_table("subnet-b", VPC, tables) == "rtb-main"


def test_main_table_of_another_vpc_does_not_apply() -> None:
    tables = [table("rtb-other", main=True, vpc="vpc-other")]
    assert effective_route_table("subnet-a", VPC, tables) is None


def test_a_disassociated_table_no_longer_applies() -> None:
    tables = [
        table("rtb-main", main=True),
        table("rtb-old", subnets=("subnet-a",), association_state="disassociated"),
    ]
    assert effective_route_table("subnet-a", VPC, tables) == "rtb-main"


@given(
    st.dictionaries(
        st.sampled_from(["subnet-1", "subnet-2", "subnet-3", "subnet-4"]),
        st.sampled_from(["rtb-a", "rtb-b", "rtb-c"]),
    ),
    st.sampled_from(["rtb-a", "rtb-b", "rtb-c", "rtb-m"]),
    st.randoms(use_true_random=False),
)
def test_effective_table_is_the_association_else_main(
    explicit: dict[str, str], main: str, rnd: Any
) -> None:
    ids = {"rtb-a", "rtb-b", "rtb-c", main}
    tables = [
        table(t, subnets=tuple(s for s, e in explicit.items() if e == t), main=t == main)
        for t in ids
    ]
    rnd.shuffle(tables)  # the listing's order must not matter
    for subnet in ("subnet-1", "subnet-2", "subnet-3", "subnet-4"):
        assert effective_route_table(subnet, VPC, tables) == explicit.get(subnet, main)


# --- public_routes ---------------------------------------------------------------------------


def test_ipv4_and_ipv6_default_routes_to_an_internet_gateway_are_public() -> None:
    rtb = table("rtb-1", (route("0.0.0.0/0", "igw-1"), route("::/0", "igw-1")))
    assert public_routes(rtb) == (PublicRoute("0.0.0.0/0", "igw-1"), PublicRoute("::/0", "igw-1"))


def test_egress_only_gateway_counts_unless_disabled() -> None:
    rtb = table("rtb-1", (route("::/0", "eigw-1"),))
    assert public_routes(rtb) == (PublicRoute("::/0", "eigw-1"),)
    assert public_routes(rtb, egress_only_gateways=False) == ()


@pytest.mark.parametrize(
    "routes",
    [
        (route("0.0.0.0/0", "igw-1", state="blackhole"),),
        (route("::/0", "eigw-1", state="blackhole"),),
        (route("0.0.0.0/0", "nat-1"), route("::/0", "nat-1")),
        (route("0.0.0.0/0", "tgw-1"), route("0.0.0.0/0", "vgw-1")),
        (route("10.1.0.0/16", "pcx-1"),),
    ],
    ids=["blackhole-igw", "blackhole-eigw", "nat", "tgw-vgw", "peering"],
)
def test_private_or_dead_routes_are_not_public(routes: tuple[dict[str, Any], ...]) -> None:
    assert public_routes(table("rtb-1", routes)) == ()


@given(routes_strategy, st.booleans())
def test_public_routes_are_exactly_active_default_routes_to_gateways(
    routes: list[dict[str, Any]], egress_only: bool
) -> None:
    found = set(public_routes(table("rtb-1", tuple(routes)), egress_only_gateways=egress_only))
    expected = set()
    for r in routes:
        destination = r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock")
        target = r.get("GatewayId") or r.get("EgressOnlyInternetGatewayId") or ""
        if r["State"] != "active" or destination not in ("0.0.0.0/0", "::/0"):
            continue
        if target.startswith("igw-") or (
            egress_only and destination == "::/0" and target.startswith("eigw-")
        ):
            expected.add(PublicRoute(destination, target))
    assert found == expected


# --- served_by (the router's reverse look-up) ----------------------------------------------


def test_served_by_names_explicit_subnets_and_the_vpc_of_a_main_table() -> None:
    assert served_by(table("rtb-a", subnets=("subnet-a", "subnet-b"))) == (
        {"subnet-a", "subnet-b"},
        set(),
    )
    assert served_by(table("rtb-m", main=True)) == (set(), {VPC})


@pytest.mark.parametrize("state", ["disassociated", "failed"])
def test_served_by_ignores_gone_associations(state: str) -> None:
    assert served_by(table("rtb-old", subnets=("subnet-a",), association_state=state)) == (
        set(),
        set(),
    )


# --- open_egress -----------------------------------------------------------------------------


def test_open_egress_needs_all_protocols_to_everywhere() -> None:
    def egress(protocol: str, cidr: str) -> dict[str, Any]:
        return {"IpPermissionsEgress": [{"IpProtocol": protocol, "IpRanges": [{"CidrIp": cidr}]}]}

    tcp_only, narrow = egress("tcp", "0.0.0.0/0"), egress("-1", "10.0.0.0/8")
    both = {
        "IpPermissionsEgress": [
            {
                "IpProtocol": "-1",
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            }
        ]
    }
    assert open_egress(tcp_only) == () and open_egress(narrow) == ()
    assert open_egress(both) == ("0.0.0.0/0", "::/0")
