"""vpc_public_route: the pure helpers and check, with property tests over generated tables."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from daemon.reconcile.plan import plan
from daemon.state import Mode
from remediations.vpc_public_route import (
    PublicRoute,
    Settings,
    VpcPublicRoute,
    effective_route_table,
    open_egress,
    public_routes,
)
from tests.factories import APP, observed
from tests.vpc_factories import VPC, route, routes_strategy, table

RULE = VpcPublicRoute()
SETTINGS = Settings()


def facts(
    subnets: dict[str, tuple[str, str]], tables: dict[str, dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """Observed facts: subnet -> (route table id, association kind)."""
    return {
        RULE.id: {
            "subnets": [
                {"subnet_id": s, "vpc_id": VPC, "route_table_id": t, "association": kind}
                for s, (t, kind) in subnets.items()
            ],
            "route_tables": tables,
            **extra,
        }
    }


def check(state_facts: dict[str, Any], settings: Settings = SETTINGS) -> tuple[Any, ...]:
    return RULE.check(settings, observed({}, state_facts))


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


# --- check -----------------------------------------------------------------------------------


def test_a_subnet_on_a_public_table_is_one_alert_only_drift_naming_everything() -> None:
    tables = {"rtb-1": table("rtb-1", (route("0.0.0.0/0", "igw-9"),))}
    (drift,) = check(facts({"subnet-a": ("rtb-1", "explicit")}, tables))
    assert not drift.fixable
    assert drift.rule == "vpc_public_route" and drift.app == APP
    for word in ("subnet-a", "rtb-1", "0.0.0.0/0", "igw-9", "explicit"):
        assert word in drift.message
    assert drift.current["route_table_id"] == "rtb-1"
    assert drift.resource == f"arn:aws:ec2:{APP.region}:{APP.account}:route-table/rtb-1"
    assert RULE.fix(SETTINGS, observed({}), (drift,)) == ()


def test_every_subnet_sharing_a_public_table_is_reported() -> None:
    tables = {"rtb-m": table("rtb-m", (route("::/0", "igw-1"),), main=True)}
    drifts = check(facts({"subnet-a": ("rtb-m", "main"), "subnet-b": ("rtb-m", "main")}, tables))
    assert sorted(d.current["subnet_id"] for d in drifts) == ["subnet-a", "subnet-b"]


def test_no_vpc_no_facts_no_drift() -> None:
    assert check({}) == ()
    assert check(facts({}, {})) == ()


def test_security_group_egress_is_checked_only_when_asked() -> None:
    group = {
        "GroupId": "sg-1",
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    }
    state = facts({}, {}, security_groups=[group])
    assert check(state) == ()
    (drift,) = check(state, Settings(security_group_egress=True))
    assert drift.field == "SecurityGroup.sg-1.Egress" and not drift.fixable
    assert "sg-1" in drift.message and "0.0.0.0/0" in drift.message


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


def test_topic_arn_is_validated() -> None:
    assert Settings(sns_topic_arn="arn:aws:sns:eu-west-1:123456789012:alerts").sns_topic_arn
    with pytest.raises(ValidationError):
        Settings(sns_topic_arn="alerts")


subnet_tables = st.dictionaries(
    st.sampled_from(["subnet-1", "subnet-2", "subnet-3"]),
    st.tuples(st.sampled_from(["rtb-a", "rtb-b"]), st.sampled_from(["explicit", "main"])),
)


@given(subnet_tables, routes_strategy, routes_strategy, st.booleans())
def test_check_reports_each_public_route_of_each_subnet_once(
    subnets: dict[str, tuple[str, str]],
    routes_a: list[dict[str, Any]],
    routes_b: list[dict[str, Any]],
    egress_only: bool,
) -> None:
    tables = {"rtb-a": table("rtb-a", tuple(routes_a)), "rtb-b": table("rtb-b", tuple(routes_b))}
    settings = Settings(egress_only_gateways=egress_only)
    drifts = check(facts(subnets, tables), settings)
    expected = {
        (s, t, r.destination, r.target)
        for s, (t, _) in subnets.items()
        for r in public_routes(tables[t], egress_only_gateways=egress_only)
    }
    found = [
        (
            d.current["subnet_id"],
            d.current["route_table_id"],
            d.current["destination"],
            d.current["target"],
        )
        for d in drifts
    ]
    assert len(found) == len(set(found)) and set(found) == expected
    assert all(not d.fixable for d in drifts)
    assert len({d.field for d in drifts}) == len(drifts)  # fields identify findings
    assert RULE.fix(settings, observed({}), drifts) == ()


@given(subnet_tables, routes_strategy)
def test_blackholing_every_route_clears_every_finding(
    subnets: dict[str, tuple[str, str]], routes: list[dict[str, Any]]
) -> None:
    dead = tuple({**r, "State": "blackhole"} for r in routes)
    tables = {"rtb-a": table("rtb-a", dead), "rtb-b": table("rtb-b", dead)}
    assert check(facts(subnets, tables)) == ()


@pytest.mark.parametrize("mode", ["alert", "enforce", "dry-run"])
def test_alert_actions_carry_the_expanded_topic_in_every_mode(mode: Mode) -> None:
    tables = {"rtb-1": table("rtb-1", (route("0.0.0.0/0", "igw-9"),))}
    settings = Settings(sns_topic_arn="arn:aws:sns:{region}:{account}:vpc-alerts")
    (action,) = plan(
        observed({}, facts({"subnet-a": ("rtb-1", "main")}, tables)), [(RULE, settings, mode)]
    ).actions
    assert action.mode == "alert" and action.calls == ()
    assert action.notify_topic == f"arn:aws:sns:{APP.region}:{APP.account}:vpc-alerts"
    assert RULE.notify_topic(Settings(), APP) is None
