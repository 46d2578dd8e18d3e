"""vpc_public_route: alert when an application's subnet routes to the public internet.

An application in a VPC has no internet access unless a subnet's route table gives it one. For
each subnet of each VPC configuration the rule resolves the effective route table (the explicit
association, else the VPC's main table) and reports active default routes to an internet gateway
(`igw-`) and, configurably, IPv6 default routes to an egress-only gateway (`eigw-`). Routes are
shared infrastructure, so the rule never changes them: every finding is alert-only.

`effective_route_table` and `public_routes` are pure and also serve the inventory, which maps
EC2 route events back to the applications whose subnets use the changed table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field, field_validator

from daemon.state import AppRef, Call, Drift, Mode, Observed
from remediations.base import Reader, RuleSettings

DEFAULT_ROUTES = frozenset({"0.0.0.0/0", "::/0"})
ALL_TRAFFIC = "-1"
# Association states in which a table no longer (or never did) apply to the subnet.
_GONE_ASSOCIATION_STATES = frozenset({"disassociated", "failed"})


class Settings(RuleSettings):
    egress_only_gateways: bool = Field(
        default=True,
        description="Also alert on ::/0 routes to egress-only internet gateways (eigw-).",
    )
    security_group_egress: bool = Field(
        default=False,
        description="Also alert on the app's security groups that allow all egress to 0.0.0.0/0 "
        "or ::/0 (every default security group does, so this is off unless asked for).",
    )
    sns_topic_arn: str | None = Field(
        default=None,
        description="SNS topic told when a violation opens or gains findings; {account} and "
        "{region} expand to the application's (SNS publishes only within a region).",
    )

    @field_validator("sns_topic_arn")
    @classmethod
    def _valid_topic(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            parts = value.format(account="123456789012", region="us-east-1").split(":")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"only {{account}} and {{region}} expand: {exc}") from None
        if not (len(parts) == 6 and parts[0] == "arn" and parts[2] == "sns" and all(parts)):
            raise ValueError("must look like arn:aws:sns:REGION:ACCOUNT:TOPIC")
        return value


@dataclass(frozen=True, order=True)
class PublicRoute:
    destination: str  # 0.0.0.0/0 or ::/0
    target: str  # igw-... or eigw-...


def _associations(table: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        a
        for a in table.get("Associations") or []
        if (a.get("AssociationState") or {}).get("State") not in _GONE_ASSOCIATION_STATES
    ]


def explicit_route_table(subnet_id: str, route_tables: Iterable[Mapping[str, Any]]) -> str | None:
    """The table explicitly associated with the subnet, if any."""
    for table in route_tables:
        if any(a.get("SubnetId") == subnet_id for a in _associations(table)):
            return str(table["RouteTableId"])
    return None


def main_route_table(vpc_id: str, route_tables: Iterable[Mapping[str, Any]]) -> str | None:
    for table in route_tables:
        if table.get("VpcId") == vpc_id and any(a.get("Main") for a in _associations(table)):
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


def _vpc_route_tables(read: Reader, vpc_id: str) -> list[Mapping[str, Any]]:
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


class VpcPublicRoute:
    id: ClassVar[str] = "vpc_public_route"
    summary: ClassVar[str] = "Alert when a subnet of the app routes to an internet gateway."
    settings_model: ClassVar[type[RuleSettings]] = Settings
    default_mode: ClassVar[Mode] = "alert"
    read_actions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
    )
    # Only for the optional notification; the rule itself never changes anything.
    write_actions: ClassVar[tuple[str, ...]] = ("sns:Publish",)
    trigger_events: ClassVar[frozenset[str]] = frozenset(
        {
            "CreateApplication",
            "UpdateApplication",
            "AddApplicationVpcConfiguration",
            "DeleteApplicationVpcConfiguration",
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
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupEgress",
            "ModifySecurityGroupRules",
        }
    )

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> dict[str, Any]:
        subnets: list[dict[str, Any]] = []
        tables: dict[str, Mapping[str, Any]] = {}
        groups: set[str] = set()
        for vpc in vpc_configurations(detail):
            vpc_id = str(vpc.get("VpcId", ""))
            listing = _vpc_route_tables(read, vpc_id) if vpc_id else []
            by_id = {str(t["RouteTableId"]): t for t in listing}
            groups.update(vpc.get("SecurityGroupIds") or [])
            for subnet_id in vpc.get("SubnetIds") or []:
                explicit = explicit_route_table(subnet_id, listing)
                table_id = explicit or main_route_table(vpc_id, listing)
                subnets.append(
                    {
                        "subnet_id": subnet_id,
                        "vpc_id": vpc_id,
                        "route_table_id": table_id,
                        "association": "explicit" if explicit else "main",
                    }
                )
                if table_id:
                    table = by_id[table_id]
                    tables[table_id] = {"RouteTableId": table_id, "Routes": table.get("Routes")}
        facts: dict[str, Any] = {"subnets": subnets, "route_tables": tables}
        if settings.security_group_egress and groups:
            # A filter, not GroupIds: a deleted group is left out instead of failing the read.
            found = read(
                "ec2",
                "DescribeSecurityGroups",
                Filters=[{"Name": "group-id", "Values": sorted(groups)}],
            )["SecurityGroups"]
            facts["security_groups"] = [
                {"GroupId": g["GroupId"], "IpPermissionsEgress": g.get("IpPermissionsEgress")}
                for g in found
            ]
        return facts

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        app = observed.app
        facts = observed.fact(self.id) or {}
        tables: Mapping[str, Mapping[str, Any]] = facts.get("route_tables") or {}
        drifts: list[Drift] = []
        for subnet in facts.get("subnets") or []:
            table_id = subnet.get("route_table_id")
            if not table_id or table_id not in tables:
                continue
            table = tables[table_id]
            routes = public_routes(table, egress_only_gateways=settings.egress_only_gateways)
            for route in routes:
                where = {
                    "subnet_id": subnet["subnet_id"],
                    "route_table_id": table_id,
                    "association": subnet.get("association", ""),
                    "destination": route.destination,
                    "target": route.target,
                }
                drifts.append(
                    Drift(
                        self.id,
                        app,
                        f"Subnet.{subnet['subnet_id']}.Route.{route.destination}.{route.target}",
                        where,
                        None,
                        f"subnet {subnet['subnet_id']} routes {route.destination} to "
                        f"{route.target} through route table {table_id} "
                        f"({subnet.get('association', 'unknown')} association)",
                        fixable=False,
                        resource=f"arn:aws:ec2:{app.region}:{app.account}:route-table/{table_id}",
                    )
                )
        if settings.security_group_egress:
            for group in facts.get("security_groups") or []:
                cidrs = open_egress(group)
                if cidrs:
                    group_id = group["GroupId"]
                    drifts.append(
                        Drift(
                            self.id,
                            app,
                            f"SecurityGroup.{group_id}.Egress",
                            list(cidrs),
                            [],
                            f"security group {group_id} allows all egress to {', '.join(cidrs)}",
                            fixable=False,
                            resource=f"arn:aws:ec2:{app.region}:{app.account}"
                            f":security-group/{group_id}",
                        )
                    )
        return tuple(drifts)

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        return ()  # routes and security groups are shared infrastructure: alert only

    def notify_topic(self, settings: Settings, app: AppRef) -> str | None:
        if settings.sns_topic_arn is None:
            return None
        return settings.sns_topic_arn.format(account=app.account, region=app.region)
