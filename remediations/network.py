"""Pure helpers for the network around an application: VPC configurations, route tables and
security groups, as DescribeApplication, DescribeRouteTables and DescribeSecurityGroups return
them. Shared by the VPC rules and by the event router, which maps a changed route table back to
the applications whose subnets use it: both must agree on which table a subnet uses.

A subnet uses its explicit association, else its VPC's main table; an association whose state
is disassociated or failed no longer applies. Which routes reach the internet is
`remediations.internet_paths`; the reads below give it what a route's target and destination
mean (the VPC's CIDRs, NAT gateways, managed prefix lists) and the subnets' network ACLs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from remediations.base import Reader
from remediations.internet_paths import PrefixList

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
# EC2 events after which a subnet's paths to the internet may differ.
INTERNET_PATH_EVENTS = frozenset(
    {
        "CreateRoute",
        "ReplaceRoute",
        "DeleteRoute",
        "CreateRouteTable",
        "DeleteRouteTable",
        "AssociateRouteTable",
        "DisassociateRouteTable",
        "ReplaceRouteTableAssociation",
        "AttachInternetGateway",  # blackhole routes become active again
        "DetachInternetGateway",
        "CreateNatGateway",
        "DeleteNatGateway",
        "ModifyManagedPrefixList",
        "CreateNetworkAclEntry",
        "ReplaceNetworkAclEntry",
        "DeleteNetworkAclEntry",
        "ReplaceNetworkAclAssociation",
    }
)


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
    return filtered(read, "DescribeRouteTables", "RouteTables", "vpc-id", [vpc_id])


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


def filtered(
    read: Callable[..., Mapping[str, Any]], operation: str, key: str, name: str, values: list[str]
) -> list[Any]:
    """Every item a filtered EC2 Describe call lists, all pages (a filter, not ids: a deleted
    resource is left out instead of failing the read). `read` is a rule's Reader or the
    router's `Aws.call`."""
    found: list[Any] = []
    token: str | None = None
    while True:
        page = read(
            "ec2",
            operation,
            Filters=[{"Name": name, "Values": sorted(values)}],
            **({"NextToken": token} if token else {}),
        )
        found.extend(page.get(key) or [])
        token = page.get("NextToken")
        if not token:
            return found


def vpc_cidrs(read: Reader, vpc_id: str) -> tuple[str, ...]:
    """The VPC's associated IPv4 and IPv6 CIDR blocks (its local route keeps them inside)."""
    cidrs: list[str] = []
    for vpc in filtered(read, "DescribeVpcs", "Vpcs", "vpc-id", [vpc_id]):
        for block in vpc.get("CidrBlockAssociationSet") or []:
            if (block.get("CidrBlockState") or {}).get("State") == "associated":
                cidrs.append(str(block["CidrBlock"]))
        for block in vpc.get("Ipv6CidrBlockAssociationSet") or []:
            if (block.get("Ipv6CidrBlockState") or {}).get("State") == "associated":
                cidrs.append(str(block["Ipv6CidrBlock"]))
    return tuple(sorted(cidrs))


# A NAT gateway in these states forwards nothing ("deleting ... may still be processing
# traffic", pending soon will). https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NatGateway.html
_DEAD_NAT_STATES = frozenset({"deleted", "failed"})


def nat_connectivity(read: Reader, nat_ids: set[str]) -> dict[str, str]:
    """Live NAT gateway -> public | private (ConnectivityType; CreateNatGateway's default is
    public)."""
    if not nat_ids:
        return {}
    gateways = filtered(read, "DescribeNatGateways", "NatGateways", "nat-gateway-id", [*nat_ids])
    return {
        str(g["NatGatewayId"]): str(g.get("ConnectivityType") or "public")
        for g in gateways
        if g.get("State") not in _DEAD_NAT_STATES
    }


def prefix_lists(read: Reader, list_ids: set[str]) -> dict[str, PrefixList]:
    """Managed prefix lists with their current entries; a list that is gone is left out."""
    if not list_ids:
        return {}
    found: dict[str, PrefixList] = {}
    listed = filtered(
        read, "DescribeManagedPrefixLists", "PrefixLists", "prefix-list-id", [*list_ids]
    )
    for item in listed:
        list_id = str(item["PrefixListId"])
        cidrs: list[str] = []
        token: str | None = None
        while True:
            page = read(
                "ec2",
                "GetManagedPrefixListEntries",
                PrefixListId=list_id,
                **({"NextToken": token} if token else {}),
            )
            cidrs.extend(str(e["Cidr"]) for e in page.get("Entries") or [])
            token = page.get("NextToken")
            if not token:
                break
        name, owner = str(item.get("PrefixListName") or ""), str(item.get("OwnerId") or "")
        found[list_id] = PrefixList(name, owner, tuple(cidrs))
    return found


def network_acls(read: Reader, vpc_id: str) -> list[Mapping[str, Any]]:
    """Every network ACL of a VPC (each subnet is associated with exactly one)."""
    return filtered(read, "DescribeNetworkAcls", "NetworkAcls", "vpc-id", [vpc_id])
