"""vpc_public_route: the pure helpers and check, with property tests over generated tables."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from daemon.reconcile.plan import plan
from daemon.state import Mode
from remediations.internet_paths import INTERNET_EGRESS, INTERNET_ROUTE, Targets, internet_paths
from remediations.vpc_public_route import (
    NetworkFacts,
    Settings,
    SubnetRoute,
    VpcPublicRoute,
)
from tests.contract.scenarios import Scenario, in_vpc
from tests.factories import APP, observed
from tests.vpc_factories import VPC, route, routes_strategy, table

RULE = VpcPublicRoute()
SETTINGS = Settings()


NAT_TARGETS = Targets(("10.0.0.0/16",), nat_connectivity={"nat-1": "public", "nat-2": "private"})


def facts(
    subnets: dict[str, tuple[str, str]],
    tables: dict[str, dict[str, Any]],
    security_groups: tuple[dict[str, Any], ...] = (),
    targets: Targets = NAT_TARGETS,
    acls: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Observed facts: subnet -> (route table id, association kind)."""
    found = tuple(SubnetRoute(s, VPC, t, kind) for s, (t, kind) in subnets.items())
    return {RULE.id: NetworkFacts(found, tables, security_groups, {VPC: targets}, acls or {})}


def check(state_facts: dict[str, Any], settings: Settings = SETTINGS) -> tuple[Any, ...]:
    return RULE.check(settings, observed({}, state_facts))


# --- check -----------------------------------------------------------------------------------


def test_a_subnet_on_a_public_table_is_one_alert_only_drift_naming_everything() -> None:
    tables = {"rtb-1": table("rtb-1", (route("0.0.0.0/0", "igw-9"),))}
    (drift,) = check(facts({"subnet-a": ("rtb-1", "explicit")}, tables))
    assert not drift.fixable
    assert drift.rule == "vpc_public_route" and drift.app == APP
    for word in ("subnet-a", "rtb-1", "0.0.0.0/0", "igw-9", "explicit", "internet gateway"):
        assert word in drift.message
    assert drift.current["kind"] == INTERNET_ROUTE and "public addresses" in drift.current["why"]
    assert drift.current["route_table_id"] == "rtb-1"
    assert drift.resource == f"arn:aws:ec2:{APP.region}:{APP.account}:route-table/rtb-1"
    assert RULE.fix(SETTINGS, observed({}), (drift,)) == ()


def test_every_subnet_sharing_a_public_table_is_reported() -> None:
    tables = {"rtb-m": table("rtb-m", (route("::/0", "igw-1"),), main=True)}
    drifts = check(facts({"subnet-a": ("rtb-m", "main"), "subnet-b": ("rtb-m", "main")}, tables))
    assert sorted(d.current["subnet_id"] for d in drifts) == ["subnet-a", "subnet-b"]


def test_split_default_routes_are_two_findings() -> None:
    routes = (route("0.0.0.0/1", "igw-1"), route("128.0.0.0/1", "igw-1"))
    drifts = check(facts({"subnet-a": ("rtb-1", "main")}, {"rtb-1": table("rtb-1", routes)}))
    assert sorted(d.current["destination"] for d in drifts) == ["0.0.0.0/1", "128.0.0.0/1"]


def test_a_public_nat_is_internet_egress_unless_turned_off_and_a_private_one_never() -> None:
    tables = {
        "rtb-1": table("rtb-1", (route("0.0.0.0/0", "nat-1"),)),
        "rtb-2": table("rtb-2", (route("0.0.0.0/0", "nat-2"),)),
    }
    state = facts({"subnet-a": ("rtb-1", "explicit"), "subnet-b": ("rtb-2", "explicit")}, tables)
    (drift,) = check(state)
    assert drift.current["kind"] == INTERNET_EGRESS and drift.current["subnet_id"] == "subnet-a"
    assert drift.message.startswith("internet_egress: ") and "public NAT gateway" in drift.message
    assert check(state, Settings(internet_egress=False)) == ()


def acl(*entries: tuple[int, str, str, str]) -> dict[str, Any]:
    """A network ACL from (rule number, action, protocol, CIDR) egress entries."""
    rules = [(n, a, p, c) for n, a, p, c in entries] + [(32767, "deny", "-1", "0.0.0.0/0")]
    return {
        "NetworkAclId": "acl-1",
        "Entries": [
            {"Egress": True, "RuleNumber": n, "RuleAction": a, "Protocol": p, "CidrBlock": c}
            for n, a, p, c in rules
        ],
    }


@pytest.mark.parametrize(
    ("entries", "suppressed"),
    [
        (((100, "allow", "-1", "0.0.0.0/0"),), False),
        (((100, "allow", "-1", "10.0.0.0/8"),), True),
        (((90, "deny", "-1", "0.0.0.0/0"), (100, "allow", "-1", "0.0.0.0/0")), True),
        (((90, "deny", "6", "0.0.0.0/0"), (100, "allow", "-1", "0.0.0.0/0")), False),
        (((90, "deny", "-1", "52.0.0.0/9"), (100, "allow", "6", "0.0.0.0/0")), False),
        (((90, "deny", "-1", "52.0.0.0/8"), (100, "allow", "6", "0.0.0.0/0")), True),
    ],
    ids=["allow-all", "allow-private", "deny-first", "deny-tcp-only", "half-denied", "denied"],
)
def test_a_network_acl_denying_all_egress_to_the_path_suppresses_it_when_asked(
    entries: tuple[tuple[int, str, str, str], ...], suppressed: bool
) -> None:
    tables = {"rtb-1": table("rtb-1", (route("52.0.0.0/8", "igw-1"),))}
    state = facts({"subnet-a": ("rtb-1", "main")}, tables, acls={"subnet-a": acl(*entries)})
    assert len(check(state)) == 1  # off by default
    assert len(check(state, Settings(network_acls=True))) == (0 if suppressed else 1)


def test_no_vpc_no_facts_no_drift() -> None:
    assert check({}) == ()
    assert check(facts({}, {})) == ()


def test_security_group_egress_is_checked_only_when_asked() -> None:
    group = {
        "GroupId": "sg-1",
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    }
    state = facts({}, {}, security_groups=(group,))
    assert check(state) == ()
    (drift,) = check(state, Settings(security_group_egress=True))
    assert drift.field == "SecurityGroup.sg-1.Egress" and not drift.fixable
    assert "sg-1" in drift.message and "0.0.0.0/0" in drift.message


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
        for r in internet_paths(tables[t], NAT_TARGETS, egress_only_gateways=egress_only)
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


SCENARIO = Scenario(lambda h: Settings(), in_vpc("private_subnet_id"), in_vpc("public_subnet_id"))
