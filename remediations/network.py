"""Pure helpers for the network around an application: VPC configurations, route tables and
security groups, as DescribeApplication, DescribeRouteTables and DescribeSecurityGroups return
them. Shared by the VPC rules and by the event router, which maps a changed route table back to
the applications whose subnets use it: both must agree on which table a subnet uses.

A subnet uses its explicit association, else its VPC's main table; an association whose state
is disassociated or failed no longer applies. A route is active unless it is a blackhole (its
gateway is gone); a default route reaches the internet through an internet gateway (`igw-`)
or, for IPv6 egress only, an egress-only gateway (`eigw-`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from remediations.base import Reader

DEFAULT_ROUTES = frozenset({"0.0.0.0/0", "::/0"})
ALL_TRAFFIC = "-1"
# Association states in which a table no longer (or never did) apply to the subnet.
_GONE_ASSOCIATION_STATES = frozenset({"disassociated", "failed"})
# Application events that change where an application's network is.
VPC_EVENTS = frozenset(
    {
        "CreateApplication",
        "UpdateApplication",
        "AddApplicationVpcConfiguration",
        "DeleteApplicationVpcConfiguration",
    }
)


@dataclass(frozen=True, order=True)
class PublicRoute:
    destination: str  # 0.0.0.0/0 or ::/0
    target: str  # igw-... or eigw-...


def live_associations(table: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The associations of a DescribeRouteTables entry that still apply (a disassociated or
    failed one lingers in the listing for a while)."""
    return [
        a
        for a in table.get("Associations") or []
        if (a.get("AssociationState") or {}).get("State") not in _GONE_ASSOCIATION_STATES
    ]


def explicit_route_table(subnet_id: str, route_tables: Iterable[Mapping[str, Any]]) -> str | None:
    """The table explicitly associated with the subnet, if any."""
    for table in route_tables:
        if any(a.get("SubnetId") == subnet_id for a in live_associations(table)):
            return str(table["RouteTableId"])
    return None


def main_route_table(vpc_id: str, route_tables: Iterable[Mapping[str, Any]]) -> str | None:
    for table in route_tables:
        if table.get("VpcId") == vpc_id and any(a.get("Main") for a in live_associations(table)):
            return str(table["RouteTableId"])
    return None


def effective_route_table(
    subnet_id: str, vpc_id: str, route_tables: Iterable[Mapping[str, Any]]
) -> str | None:
    """The route table a subnet uses: its explicit association, else its VPC's main table.
    `route_tables` are DescribeRouteTables entries (at least those of the VPC); None when none
    of them applies (an incomplete listing)."""
    tables = list(route_tables)
    return explicit_route_table(subnet_id, tables) or main_route_table(vpc_id, tables)


def public_routes(
    table: Mapping[str, Any], *, egress_only_gateways: bool = True
) -> tuple[PublicRoute, ...]:
    """Active routes of a DescribeRouteTables entry that reach the public internet: 0.0.0.0/0 or
    ::/0 to an internet gateway, and (unless disabled) ::/0 to an egress-only gateway."""
    found: set[PublicRoute] = set()
    for route in table.get("Routes") or []:
        if route.get("State") == "blackhole":  # its gateway is gone: nothing routes
            continue
        ipv4, ipv6 = route.get("DestinationCidrBlock"), route.get("DestinationIpv6CidrBlock")
        destination = ipv4 if ipv4 in DEFAULT_ROUTES else ipv6
        if destination not in DEFAULT_ROUTES:
            continue
        gateway = str(route.get("GatewayId") or "")
        egress_only = str(route.get("EgressOnlyInternetGatewayId") or "")
        if gateway.startswith("igw-"):
            found.add(PublicRoute(str(destination), gateway))
        elif egress_only_gateways and destination == "::/0" and egress_only.startswith("eigw-"):
            found.add(PublicRoute(str(destination), egress_only))
    return tuple(sorted(found))


def open_egress(group: Mapping[str, Any]) -> tuple[str, ...]:
    """The CIDRs to which a DescribeSecurityGroups entry allows all traffic out."""
    cidrs: set[str] = set()
    for permission in group.get("IpPermissionsEgress") or []:
        if str(permission.get("IpProtocol")) != ALL_TRAFFIC:
            continue
        cidrs.update(
            r["CidrIp"] for r in permission.get("IpRanges") or [] if r.get("CidrIp") == "0.0.0.0/0"
        )
        cidrs.update(
            r["CidrIpv6"] for r in permission.get("Ipv6Ranges") or [] if r.get("CidrIpv6") == "::/0"
        )
    return tuple(sorted(cidrs))


def vpc_configurations(detail: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    config = detail.get("ApplicationConfigurationDescription") or {}
    return list(config.get("VpcConfigurationDescriptions") or [])


def vpc_route_tables(read: Reader, vpc_id: str) -> list[Mapping[str, Any]]:
    """Every route table of a VPC in one listing; associations are resolved client-side (moto
    lacks several DescribeRouteTables filters, and one call per VPC is cheaper anyway)."""
    tables: list[Mapping[str, Any]] = []
    token: str | None = None
    while True:
        page = read(
            "ec2",
            "DescribeRouteTables",
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}],
            **({"NextToken": token} if token else {}),
        )
        tables.extend(page.get("RouteTables") or [])
        token = page.get("NextToken")
        if not token:
            return tables


def served_by(table: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """Subnets a DescribeRouteTables entry is explicitly associated with, and the VPC whose
    main table it is (every subnet of that VPC without its own association uses it)."""
    subnets: set[str] = set()
    vpcs: set[str] = set()
    for association in live_associations(table):
        if association.get("Main"):
            vpcs.add(str(table["VpcId"]))
        elif association.get("SubnetId"):
            subnets.add(str(association["SubnetId"]))
    return subnets, vpcs
