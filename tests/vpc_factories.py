"""Builders for VPC shapes (DescribeRouteTables, DescribeApplication) and sandbox networks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from hypothesis import strategies as st

from daemon.aws import Aws
from sandbox.testing import execution_role
from tests.factories import flink_detail

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
    elif target.startswith("cagw-"):
        out["CarrierGatewayId"] = target
    else:  # igw-, vgw-, vpce-, local
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
    # A table holds one route per destination (a second gives RouteAlreadyExists).
    unique_by=lambda r: str(r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock")),
)


# --- the sandbox: a real VPC to observe over HTTP ---------------------------------------------


@dataclass(frozen=True)
class Network:
    """A dual-stack VPC with two subnets on its (private) main table, an attached internet
    gateway, an egress-only gateway and a NAT gateway; no route uses them yet."""

    vpc: str
    subnet_a: str
    subnet_b: str
    main_table: str
    group: str
    igw: str
    eigw: str
    nat: str


def build_network(ec2: Any, region: str, cidr: str = "10.9.0.0/16") -> Network:
    vpc = ec2.create_vpc(CidrBlock=cidr, AmazonProvidedIpv6CidrBlock=True)["Vpc"]["VpcId"]
    prefix = cidr.rsplit(".", 2)[0]
    subnet_a, subnet_b = (
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"{prefix}.{i}.0/24", AvailabilityZone=f"{region}a")[
            "Subnet"
        ]["SubnetId"]
        for i in (1, 2)
    )
    main = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]["RouteTableId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eigw = ec2.create_egress_only_internet_gateway(VpcId=vpc)["EgressOnlyInternetGateway"][
        "EgressOnlyInternetGatewayId"
    ]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet_a, AllocationId=allocation)["NatGateway"][
        "NatGatewayId"
    ]
    group = ec2.create_security_group(GroupName=f"flink-{vpc}", Description="apps", VpcId=vpc)[
        "GroupId"
    ]
    return Network(vpc, subnet_a, subnet_b, main, group, igw, eigw, nat)


def create_app(
    flink: Any, account: str, name: str, subnets: tuple[str, ...] = (), groups: tuple[str, ...] = ()
) -> None:
    """A Flink application in the sandbox, in `subnets` when given."""
    configuration: dict[str, Any] = {}
    if subnets:
        configuration["VpcConfigurations"] = [
            {"SubnetIds": list(subnets), "SecurityGroupIds": list(groups)}
        ]
    flink.create_application(
        ApplicationName=name,
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=execution_role(
            boto3.client(
                "iam",
                endpoint_url=flink.meta.endpoint_url,
                region_name=flink.meta.region_name,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        ),
        **({"ApplicationConfiguration": configuration} if configuration else {}),
    )


def daemon_aws_for(endpoint_url: str, region: str, monkeypatch: Any) -> Aws:
    """The daemon's AWS boundary pointed at the sandbox, as `AWS_ENDPOINT_URL` does it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    return Aws(region, session, max_attempts=1)
