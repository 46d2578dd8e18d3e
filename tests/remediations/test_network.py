"""remediations.network: which route table a subnet uses, which security groups allow all
egress; pure, with property tests over generated tables (which routes reach the internet:
test_internet_paths.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediations.network import effective_route_table, open_egress, served_by
from tests.vpc_factories import VPC, table

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
