"""remediations.internet_paths: which routes carry public addresses to the internet. Examples
from the issue, then a property test against a brute-force reference model: longest-prefix
match evaluated at every address where any block starts or ends."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediations.address_space import NOT_PUBLIC_NETWORKS, Network
from remediations.internet_paths import (
    INTERNET_EGRESS,
    INTERNET_ROUTE,
    PrefixList,
    Targets,
    internet_paths,
)
from tests.vpc_factories import route, table

NATS = {"nat-pub": "public", "nat-priv": "private"}
LISTS = {
    "pl-pub": PrefixList("partners", "111122223333", ("52.0.0.0/8", "10.1.0.0/16")),
    "pl-s3": PrefixList("com.amazonaws.eu-west-1.s3", "AWS", ("52.216.0.0/15", "3.5.0.0/19")),
    "pl-priv": PrefixList("offices", "111122223333", ("10.0.0.0/8", "192.168.0.0/16")),
}
TARGETS = Targets(("10.0.0.0/16", "2600:1f18::/56"), LISTS, NATS)


def list_route(list_id: str, target: str, state: str = "active") -> dict[str, Any]:
    out = route("0.0.0.0/0", target, state)
    del out["DestinationCidrBlock"]
    return {**out, "DestinationPrefixListId": list_id}


def found(*routes: dict[str, Any], targets: Targets = TARGETS, **options: bool) -> set[Any]:
    return {
        (p.destination, p.target, p.kind)
        for p in internet_paths(table("rtb-1", routes), targets, **options)
    }


@pytest.mark.parametrize(
    "routes",
    [
        (route("0.0.0.0/1", "igw-1"), route("128.0.0.0/1", "igw-1")),
        (route("52.0.0.0/8", "igw-1"),),
        (route("::/1", "igw-1"), route("8000::/1", "igw-1")),
        (route("0.0.0.0/0", "igw-1"),),
        (route("::/0", "eigw-1"),),
        (route("0.0.0.0/0", "cagw-1"),),
    ],
    ids=["split-default", "public-/8", "split-ipv6", "default", "eigw", "carrier"],
)
def test_routes_covering_public_space_to_a_gateway_are_internet_routes(
    routes: tuple[dict[str, Any], ...],
) -> None:
    paths = found(*routes)
    assert {
        (r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock")) for r in routes
    } == {p[0] for p in paths}
    assert {p[2] for p in paths} == {INTERNET_ROUTE}


@pytest.mark.parametrize(
    "routes",
    [
        (route("10.0.0.0/8", "igw-1"),),
        (route("100.64.0.0/10", "igw-1"), route("169.254.0.0/16", "igw-1")),
        (route("fd00::/8", "igw-1"), route("fe80::/10", "igw-1")),
        (route("0.0.0.0/0", "vpce-1"), route("0.0.0.0/0", "tgw-1")),
        (route("0.0.0.0/0", "igw-1", state="blackhole"),),
        (route("0.0.0.0/0", "nat-priv"),),
        (route("0.0.0.0/0", "nat-gone"),),
        (list_route("pl-priv", "igw-1"),),
        (list_route("pl-unknown", "igw-1"),),
    ],
    ids=[
        "rfc1918",
        "rfc6598-link-local",
        "ipv6-ula-link-local",
        "endpoint-tgw",
        "blackhole",
        "private-nat",
        "unknown-nat",
        "private-prefix-list",
        "unreadable-prefix-list",
    ],
)
def test_private_space_and_non_internet_targets_are_no_path(
    routes: tuple[dict[str, Any], ...],
) -> None:
    assert found(*routes) == set()


def test_a_public_nat_gateway_is_internet_egress_unless_turned_off() -> None:
    assert found(route("0.0.0.0/0", "nat-pub")) == {("0.0.0.0/0", "nat-pub", INTERNET_EGRESS)}
    assert found(route("0.0.0.0/0", "nat-pub"), nat_egress=False) == set()


def test_the_vpcs_own_public_cidr_stays_inside_the_vpc() -> None:
    own = Targets(("52.1.0.0/16",))
    assert found(route("52.1.0.0/16", "igw-1"), targets=own) == set()
    (path,) = internet_paths(table("rtb-1", (route("52.0.0.0/15", "igw-1"),)), own)
    assert path.reaches == ("52.0.0.0/16",)


def test_prefix_lists_are_resolved_and_aws_managed_ones_named() -> None:
    (partners,) = internet_paths(table("rtb-1", (list_route("pl-pub", "igw-1"),)), TARGETS)
    assert partners.reaches == ("52.0.0.0/8",)  # 10.1.0.0/16 is private
    assert "pl-pub (partners)" in partners.why
    (s3,) = internet_paths(table("rtb-1", (list_route("pl-s3", "igw-1"),)), TARGETS)
    assert "AWS-managed com.amazonaws.eu-west-1.s3" in s3.why


def test_a_more_specific_private_route_hides_only_what_it_covers() -> None:
    (path,) = internet_paths(
        table("rtb-1", (route("0.0.0.0/0", "igw-1"), route("0.0.0.0/1", "tgw-1"))), TARGETS
    )
    assert path.destination == "0.0.0.0/0" and all(
        ipaddress.ip_network(c).subnet_of(ipaddress.ip_network("128.0.0.0/1"))  # type: ignore[arg-type]
        for c in path.reaches
    )
    hidden = (route("52.0.0.0/8", "igw-1"), route("52.0.0.0/9", "tgw-1"))
    assert found(*hidden) == {("52.0.0.0/8", "igw-1", INTERNET_ROUTE)}
    covered = (*hidden, route("52.128.0.0/9", "pcx-1"))
    assert found(*covered) == set()


def test_a_static_route_beats_a_prefix_list_entry_of_the_same_length() -> None:
    routes = (list_route("pl-pub", "igw-1"), route("52.0.0.0/8", "tgw-1"))
    assert found(*routes) == set()
    assert found(list_route("pl-pub", "tgw-1"), route("52.0.0.0/8", "igw-1")) == {
        ("52.0.0.0/8", "igw-1", INTERNET_ROUTE)
    }


def test_the_finding_says_why() -> None:
    (path,) = internet_paths(table("rtb-1", (route("52.0.0.0/8", "igw-9"),)), TARGETS)
    assert path.why.startswith("52.0.0.0/8 goes to internet gateway igw-9 (internet access)")
    assert "52.0.0.0/8" in path.why.split("covers public addresses", 1)[1]


# --- property: the rule agrees with a brute-force longest-prefix model -----------------------

POOL_V4 = ("0.0.0.0", "10.0.0.0", "52.0.0.0", "100.64.0.0", "128.0.0.0", "172.16.0.0", "3.5.0.0")
POOL_V6 = ("::", "2600:1f18::", "8000::", "fd00::", "fe80::")
ALL_TARGETS = ("igw-1", "eigw-1", "cagw-1", "nat-pub", "nat-priv", "tgw-1", "pcx-1", "vpce-1")


@st.composite
def cidrs(draw: Any) -> str:
    if draw(st.booleans()):
        base, bits = draw(st.sampled_from(POOL_V4)), draw(st.integers(0, 32))
    else:
        base, bits = draw(st.sampled_from(POOL_V6)), draw(st.integers(0, 128))
    width = 32 if ":" not in base else 128
    offset = draw(st.integers(0, 3)) << max(0, width - bits)
    start = ipaddress.ip_address(base)
    address = type(start)((int(start) + offset) % 2**width)
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


@st.composite
def generated_route(draw: Any) -> dict[str, Any]:
    target, state = (
        draw(st.sampled_from(ALL_TARGETS)),
        draw(st.sampled_from(["active"] * 3 + ["blackhole"])),
    )
    if draw(st.integers(0, 5)) == 0:
        return list_route(draw(st.sampled_from(["pl-a", "pl-b"])), target, state)
    cidr = draw(cidrs())
    origin = draw(st.sampled_from(["CreateRoute", "CreateRoute", "EnableVgwRoutePropagation"]))
    if ":" not in cidr and target == "eigw-1":
        target = "igw-1"  # AWS takes no IPv4 route to an egress-only gateway
    return route(cidr, target, state, origin)


def _destination(r: dict[str, Any]) -> str:
    return str(
        r.get("DestinationCidrBlock")
        or r.get("DestinationIpv6CidrBlock")
        or r.get("DestinationPrefixListId")
    )


def _target(r: dict[str, Any]) -> str:
    return next(
        str(v)
        for k, v in r.items()
        if k not in ("State", "Origin") and not k.startswith("Destination")
    )


def reference(
    routes: list[dict[str, Any]], targets: Targets, egress_only: bool, nat_egress: bool
) -> tuple[dict[tuple[str, str], set[Any]], set[Any]]:
    """(route -> the candidate addresses it carries to the internet, every candidate)."""
    lists = targets.prefix_lists or {}
    blocks: list[tuple[Network, int, dict[str, Any]]] = []  # (block, rank, route)
    for r in routes:
        if r["State"] != "active":
            continue
        if "DestinationPrefixListId" in r:
            pl = lists.get(r["DestinationPrefixListId"])
            blocks += [(ipaddress.ip_network(c), 1, r) for c in (pl.cidrs if pl else ())]
        else:
            rank = 2 if r["Origin"] == "EnableVgwRoutePropagation" else 0
            blocks.append((ipaddress.ip_network(_destination(r)), rank, r))
    own = [ipaddress.ip_network(c) for c in targets.vpc_cidrs]
    edges = [b for b, _, _ in blocks] + list(NOT_PUBLIC_NETWORKS) + own
    candidates = {ipaddress.ip_address(0), ipaddress.ip_address("::")}
    for b in edges:
        candidates.add(b.network_address)
        if int(b.broadcast_address) < (2**b.max_prefixlen) - 1:
            candidates.add(b.broadcast_address + 1)

    def internet(r: dict[str, Any], version: int) -> bool:
        t = _target(r)
        return (
            t.startswith(("igw-", "cagw-"))
            or (t.startswith("eigw-") and egress_only and version == 6)
            or (nat_egress and (targets.nat_connectivity or {}).get(t) == "public")
        )

    expected: dict[tuple[str, str], set[Any]] = {}
    for a in candidates:
        if any(a in b for b in (*NOT_PUBLIC_NETWORKS, *own) if b.version == a.version):
            continue
        matching = [(b, rank, r) for b, rank, r in blocks if b.version == a.version and a in b]
        if not matching:
            continue
        best = max((b.prefixlen, -rank) for b, rank, _ in matching)
        for b, rank, r in matching:
            if (b.prefixlen, -rank) == best and internet(r, a.version):
                expected.setdefault((_destination(r), _target(r)), set()).add(a)
    return expected, candidates


@settings(max_examples=300, deadline=None)
@given(
    st.lists(generated_route(), max_size=7, unique_by=_destination),
    st.lists(cidrs(), min_size=1, max_size=3),
    st.lists(cidrs(), max_size=3),
    st.sampled_from([(), ("10.0.0.0/16",), ("52.0.0.0/16", "2600:1f18::/56")]),
    st.booleans(),
    st.booleans(),
)
def test_a_route_is_reported_exactly_when_the_reference_model_finds_a_path(
    routes: list[dict[str, Any]],
    list_a: list[str],
    list_b: list[str],
    vpc_cidrs: tuple[str, ...],
    egress_only: bool,
    nat_egress: bool,
) -> None:
    lists = {
        "pl-a": PrefixList("a", "1", tuple(list_a)),
        "pl-b": PrefixList("b", "1", tuple(list_b)),
    }
    targets = Targets(vpc_cidrs, lists, NATS)
    paths = internet_paths(
        {"Routes": routes}, targets, egress_only_gateways=egress_only, nat_egress=nat_egress
    )
    expected, candidates = reference(routes, targets, egress_only, nat_egress)
    assert {(p.destination, p.target) for p in paths} == set(expected)
    for p in paths:
        reaches = [ipaddress.ip_network(c) for c in p.reaches]
        carried = {a for a in candidates if any(a in b for b in reaches)}
        assert carried == expected[(p.destination, p.target)]
