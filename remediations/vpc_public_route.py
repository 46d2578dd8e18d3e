"""vpc_public_route: alert when an application's subnet routes to the public internet.

An application in a VPC has no internet access unless a subnet's route table gives it one. For
each subnet of each VPC configuration the rule resolves the effective route table (the explicit
association, else the VPC's main table) and reports active default routes to an internet gateway
(`igw-`) and, configurably, IPv6 default routes to an egress-only gateway (`eigw-`). Routes are
shared infrastructure, so the rule never changes them: every finding is alert-only.

The route-table logic lives in `remediations.network`, shared with vpc_required and the router.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator

from daemon.state import AppRef, Drift, Observed
from remediations.base import ANY_APPLICATION, Reader, Rule, RuleSettings
from remediations.network import (
    VPC_EVENTS,
    explicit_route_table,
    main_route_table,
    open_egress,
    public_routes,
    vpc_configurations,
    vpc_route_tables,
)


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


@dataclass(frozen=True)
class SubnetRoute:
    subnet_id: str
    vpc_id: str
    route_table_id: str | None  # None: no table applies (an incomplete listing)
    association: str  # explicit | main


@dataclass(frozen=True)
class NetworkFacts:
    subnets: tuple[SubnetRoute, ...] = ()
    # Route table id -> its DescribeRouteTables entry (id and routes).
    route_tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # DescribeSecurityGroups entries (id and egress rules), read when security_group_egress.
    security_groups: tuple[Mapping[str, Any], ...] = ()


class VpcPublicRoute(Rule[Settings, NetworkFacts]):
    """Routes and security groups are shared infrastructure: alert only, no fix."""

    summary = "Alert when a subnet of the app routes to an internet gateway."
    default_mode = "alert"
    read_actions = ("ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups")
    # Only for the optional notification; the rule itself never changes anything.
    write_actions = ("sns:Publish",)
    applies_to = ANY_APPLICATION  # Flink and Studio apps in a VPC; others have no subnets
    trigger_events = VPC_EVENTS | frozenset(
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
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupEgress",
            "ModifySecurityGroupRules",
        }
    )

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> NetworkFacts:
        subnets: list[SubnetRoute] = []
        tables: dict[str, Mapping[str, Any]] = {}
        groups: set[str] = set()
        for vpc in vpc_configurations(detail):
            vpc_id = str(vpc.get("VpcId", ""))
            listing = vpc_route_tables(read, vpc_id) if vpc_id else []
            by_id = {str(t["RouteTableId"]): t for t in listing}
            groups.update(vpc.get("SecurityGroupIds") or [])
            for subnet_id in vpc.get("SubnetIds") or []:
                explicit = explicit_route_table(subnet_id, listing)
                table_id = explicit or main_route_table(vpc_id, listing)
                kind = "explicit" if explicit else "main"
                subnets.append(SubnetRoute(subnet_id, vpc_id, table_id, kind))
                if table_id:
                    table = by_id[table_id]
                    tables[table_id] = {"RouteTableId": table_id, "Routes": table.get("Routes")}
        if not (settings.security_group_egress and groups):
            return NetworkFacts(tuple(subnets), tables)
        # A filter, not GroupIds: a deleted group is left out instead of failing the read.
        found = read(
            "ec2",
            "DescribeSecurityGroups",
            Filters=[{"Name": "group-id", "Values": sorted(groups)}],
        )["SecurityGroups"]
        security_groups = tuple(
            {"GroupId": g["GroupId"], "IpPermissionsEgress": g.get("IpPermissionsEgress")}
            for g in found
        )
        return NetworkFacts(tuple(subnets), tables, security_groups)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        app = observed.app
        facts = self.facts(observed) or NetworkFacts()
        drifts: list[Drift] = []
        for subnet in facts.subnets:
            table_id = subnet.route_table_id
            if not table_id or table_id not in facts.route_tables:
                continue
            table = facts.route_tables[table_id]
            routes = public_routes(table, egress_only_gateways=settings.egress_only_gateways)
            for route in routes:
                where = {
                    "subnet_id": subnet.subnet_id,
                    "route_table_id": table_id,
                    "association": subnet.association,
                    "destination": route.destination,
                    "target": route.target,
                }
                drifts.append(
                    self.drift(
                        observed,
                        f"Subnet.{subnet.subnet_id}.Route.{route.destination}.{route.target}",
                        where,
                        None,
                        f"subnet {subnet.subnet_id} routes {route.destination} to "
                        f"{route.target} through route table {table_id} "
                        f"({subnet.association} association)",
                        fixable=False,
                        resource=f"arn:aws:ec2:{app.region}:{app.account}:route-table/{table_id}",
                    )
                )
        if settings.security_group_egress:
            for group in facts.security_groups:
                cidrs = open_egress(group)
                if cidrs:
                    group_id = group["GroupId"]
                    drifts.append(
                        self.drift(
                            observed,
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

    def notify_topic(self, settings: Settings, app: AppRef) -> str | None:
        if settings.sns_topic_arn is None:
            return None
        return settings.sns_topic_arn.format(account=app.account, region=app.region)
