"""Reads that map an EC2 event about a NAT gateway, a managed prefix list or a network ACL to
the subnets and VPCs whose paths to the internet it may change (daemon/ingest/router.py).

A NAT gateway serves route tables of its own VPC only, so its VPC is enough. A prefix list may
be referenced by route tables of any VPC: the tables naming it are listed with the
`route.destination-prefix-list-id` filter. A network ACL applies to the subnets associated with
it (ReplaceNetworkAclAssociation moves a subnet onto the ACL it names). Each answer is read when
the event arrives; these events are rare, and an old answer could miss a new reference.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from daemon.aws import Aws
from daemon.errors import ResourceNotFound
from remediations.network import filtered, served_by


def _listed(aws: Aws, operation: str, key: str, name: str, values: Iterable[str]) -> list[Any]:
    try:
        return filtered(aws.call, operation, key, name, list(values))
    except ResourceNotFound:
        return []


def nat_gateway_vpcs(aws: Aws, nat_ids: Iterable[str]) -> set[str]:
    """The VPCs of the NAT gateways (a deleted one stays listed for about an hour)."""
    gateways = _listed(aws, "DescribeNatGateways", "NatGateways", "nat-gateway-id", nat_ids)
    return {str(g["VpcId"]) for g in gateways if g.get("VpcId")}


def prefix_list_users(aws: Aws, list_ids: Iterable[str]) -> tuple[set[str], set[str]]:
    """Subnets and VPCs (main tables) served by route tables with a route to the lists."""
    tables = _listed(
        aws, "DescribeRouteTables", "RouteTables", "route.destination-prefix-list-id", list_ids
    )
    subnets: set[str] = set()
    vpcs: set[str] = set()
    for table in tables:
        table_subnets, table_vpcs = served_by(table)
        subnets |= table_subnets
        vpcs |= table_vpcs
    return subnets, vpcs


def network_acl_subnets(aws: Aws, acl_ids: Iterable[str]) -> set[str]:
    """The subnets associated with the network ACLs."""
    acls = _listed(aws, "DescribeNetworkAcls", "NetworkAcls", "network-acl-id", acl_ids)
    return {
        str(a["SubnetId"])
        for acl in acls
        for a in acl.get("Associations") or []
        if a.get("SubnetId")
    }
