"""Builders for DescribeRouteTables / DescribeApplication VPC shapes used by pure tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.factories import APP, flink_detail

VPC = "vpc-0a"


def route(
    destination: str, target: str, state: str = "active", origin: str = "CreateRoute"
) -> dict[str, Any]:
    """A DescribeRouteTables route; the target's prefix picks the field AWS puts it in."""
    out: dict[str, Any] = {"State": state, "Origin": origin}
    out["DestinationIpv6CidrBlock" if ":" in destination else "DestinationCidrBlock"] = destination
    if target.startswith("eigw-"):
        out["EgressOnlyInternetGatewayId"] = target
    elif target.startswith("nat-"):
        out["NatGatewayId"] = target
    elif target.startswith("tgw-"):
        out["TransitGatewayId"] = target
    elif target.startswith("pcx-"):
        out["VpcPeeringConnectionId"] = target
    else:  # igw-, vgw-, local
        out["GatewayId"] = target
    return out


LOCAL_ROUTES = (
    route("10.0.0.0/16", "local", origin="CreateRouteTable"),
    route("2600:1f18::/56", "local", origin="CreateRouteTable"),
)


def table(
    table_id: str,
    routes: tuple[dict[str, Any], ...] = (),
    *,
    subnets: tuple[str, ...] = (),
    main: bool = False,
    vpc: str = VPC,
    association_state: str = "associated",
) -> dict[str, Any]:
    associations: list[dict[str, Any]] = []
    if main:
        associations.append(
            {"Main": True, "RouteTableId": table_id, "AssociationState": {"State": "associated"}}
        )
    associations.extend(
        {
            "Main": False,
            "RouteTableId": table_id,
            "SubnetId": s,
            "AssociationState": {"State": association_state},
        }
        for s in subnets
    )
    return {
        "RouteTableId": table_id,
        "VpcId": vpc,
        "Associations": associations,
        "Routes": [*LOCAL_ROUTES, *routes],
    }


def vpc_detail(
    *configs: tuple[str, tuple[str, ...], tuple[str, ...]], runtime: str = "FLINK-1_20"
) -> dict[str, Any]:
    """A Flink app's detail with VPC configurations (vpc id, subnet ids, security group ids)."""
    detail = flink_detail(runtime=runtime)
    if configs:
        detail["ApplicationConfigurationDescription"]["VpcConfigurationDescriptions"] = [
            {
                "VpcConfigurationId": f"{i + 1}.1",
                "VpcId": vpc,
                "SubnetIds": list(subnets),
                "SecurityGroupIds": list(groups),
            }
            for i, (vpc, subnets, groups) in enumerate(configs)
        ]
    return detail


# Generated routes: default and narrower destinations, every kind of target, both states.
DESTINATIONS = ("0.0.0.0/0", "::/0", "10.1.0.0/16", "0.0.0.0/1", "2001:db8::/32")
TARGETS = ("igw-1", "igw-2", "eigw-1", "nat-1", "tgw-1", "vgw-1", "pcx-1")
routes_strategy = st.lists(
    st.builds(
        route,
        st.sampled_from(DESTINATIONS),
        st.sampled_from(TARGETS),
        st.sampled_from(["active", "blackhole"]),
    ),
    max_size=6,
)

__all__ = ["APP", "VPC", "route", "routes_strategy", "table", "vpc_detail"]
