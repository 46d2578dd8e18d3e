"""vpc_public_route: alert when an application's subnet routes to the public internet.

An application in a VPC has no internet access unless a subnet's route table gives it one. For
each subnet of each VPC configuration the rule resolves the effective route table (the explicit
association, else the VPC's main table) and reports every route that carries public addresses to
the internet (`remediations.internet_paths`: split default routes, public CIDRs, prefix lists to
an internet, egress-only or carrier gateway: kind `internet_route`; a public NAT gateway: kind
`internet_egress`, optional). Optionally a subnet whose network ACL lets no outbound traffic reach
those addresses is left out. Routes are shared infrastructure, so the rule never changes them:
every finding is alert-only.

The route-table logic lives in `remediations.network`, shared with vpc_required and the router.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator

from daemon.state import AppRef, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.address_space import intersect, network
from remediations.base import ANY_APPLICATION, Reader, Rule, RuleSettings
from remediations.grants import Scope, Statement
from remediations.internet_paths import InternetPath, Targets, internet_paths
from remediations.network import (
    INTERNET_PATH_EVENTS,
    VPC_EVENTS,
    explicit_route_table,
    main_route_table,
    nat_connectivity,
    network_acls,
    open_egress,
    prefix_lists,
    vpc_cidrs,
    vpc_configurations,
    vpc_route_tables,
)
from remediations.network_acls import egress_reach, subnet_acl


class Settings(RuleSettings):
    egress_only_gateways: bool = Field(
        default=True,
        description="Also alert on IPv6 routes to egress-only internet gateways (eigw-).",
    )
    internet_egress: bool = Field(
        default=True,
        description="Also alert (finding kind internet_egress) on routes that send public "
        "addresses to a public NAT gateway: outbound internet access. A private NAT gateway "
        "never counts.",
    )
    network_acls: bool = Field(
        default=False,
        description="Leave out a finding when the subnet's network ACL denies all outbound "
        "traffic to every public address the route carries (reads DescribeNetworkAcls).",
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
    # VPC id -> what its routes' targets and destinations mean (CIDRs, NATs, prefix lists).
    targets: Mapping[str, Targets] = field(default_factory=dict)
    # Subnet id -> its network ACL's DescribeNetworkAcls entry, read when network_acls.
    network_acls: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


class VpcPublicRoute(Rule[Settings, NetworkFacts]):
    """Routes and security groups are shared infrastructure: alert only, no fix."""

    summary = "Alert when a subnet of the app has a route to the public internet."
    severity = "HIGH"
    default_mode = "alert"
    read_actions = (
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcs",
        "ec2:DescribeNatGateways",
        "ec2:DescribeManagedPrefixLists",
        "ec2:GetManagedPrefixListEntries",
        "ec2:DescribeNetworkAcls",
    )
    # Only for the optional notification; the rule itself never changes anything.
    write_actions = ("sns:Publish",)
    applies_to = ANY_APPLICATION  # Flink and Studio apps in a VPC; others have no subnets
    trigger_events = (
        VPC_EVENTS
        | INTERNET_PATH_EVENTS
        | {"AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress", "ModifySecurityGroupRules"}
    )

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.subnets(detail)

    def not_applicable(self, detail: Mapping[str, Any]) -> str:
        if shown.configuration(detail).get("VpcConfigurationDescriptions"):
            return ""
        return "no VPC configuration: the application has no subnets that could route"

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return []  # it alerts only (its topic's sns:Publish comes with notify_topic)

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> NetworkFacts:
        subnets: list[SubnetRoute] = []
        tables: dict[str, Mapping[str, Any]] = {}
        groups: set[str] = set()
        targets: dict[str, Targets] = {}
        acls: dict[str, Mapping[str, Any]] = {}
        for vpc in vpc_configurations(detail):
            vpc_id = str(vpc.get("VpcId", ""))
            if not vpc_id:
                continue
            listing = vpc_route_tables(read, vpc_id)
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
            targets[vpc_id] = self._targets(read, vpc_id, [by_id[t] for t in tables if t in by_id])
            if settings.network_acls:
                listed = network_acls(read, vpc_id)
                for subnet_id in vpc.get("SubnetIds") or []:
                    acl = subnet_acl(subnet_id, listed)
                    if acl is not None:
                        acls[subnet_id] = {"NetworkAclId": acl.get("NetworkAclId"),
                                           "Entries": acl.get("Entries")}  # fmt: skip
        facts = NetworkFacts(tuple(subnets), tables, (), targets, acls)
        if not (settings.security_group_egress and groups):
            return facts
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
        return NetworkFacts(tuple(subnets), tables, security_groups, targets, acls)

    @staticmethod
    def _targets(read: Reader, vpc_id: str, tables: list[Mapping[str, Any]]) -> Targets:
        """What the used tables' routes point at: NAT gateways and prefix lists are read only
        when a route names them."""
        routes = [r for t in tables for r in t.get("Routes") or [] if r.get("State") != "blackhole"]
        nats = {str(r["NatGatewayId"]) for r in routes if r.get("NatGatewayId")}
        lists = {
            str(r["DestinationPrefixListId"]) for r in routes if r.get("DestinationPrefixListId")
        }
        return Targets(
            vpc_cidrs(read, vpc_id), prefix_lists(read, lists), nat_connectivity(read, nats)
        )

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        app = observed.app
        facts = self.facts(observed) or NetworkFacts()
        drifts: list[Drift] = []
        for subnet in facts.subnets:
            table_id = subnet.route_table_id
            if not table_id or table_id not in facts.route_tables:
                continue
            table = facts.route_tables[table_id]
            paths = internet_paths(
                table,
                facts.targets.get(subnet.vpc_id) or Targets(),
                egress_only_gateways=settings.egress_only_gateways,
                nat_egress=settings.internet_egress,
            )
            acl = facts.network_acls.get(subnet.subnet_id) if settings.network_acls else None
            for path in paths:
                if acl is not None and _acl_blocks(acl, path):
                    continue
                drifts.append(self._path_drift(observed, subnet, table_id, path))
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

    def _path_drift(
        self, observed: Observed, subnet: SubnetRoute, table_id: str, path: InternetPath
    ) -> Drift:
        app = observed.app
        where = {
            "subnet_id": subnet.subnet_id,
            "route_table_id": table_id,
            "association": subnet.association,
            "destination": path.destination,
            "target": path.target,
            "kind": path.kind,
            "why": path.why,
        }
        return self.drift(
            observed,
            f"Subnet.{subnet.subnet_id}.Route.{path.destination}.{path.target}",
            where,
            None,
            f"{path.kind}: subnet {subnet.subnet_id} routes {path.destination} to {path.target} "
            f"through route table {table_id} ({subnet.association} association): {path.why}",
            fixable=False,
            resource=f"arn:aws:ec2:{app.region}:{app.account}:route-table/{table_id}",
        )

    def notify_topic(self, settings: Settings, app: AppRef) -> str | None:
        if settings.sns_topic_arn is None:
            return None
        return settings.sns_topic_arn.format(account=app.account, region=app.region)


def _acl_blocks(acl: Mapping[str, Any], path: InternetPath) -> bool:
    """Whether the network ACL lets no outbound traffic reach any address the path carries."""
    carried = [b for b in (network(c) for c in path.reaches) if b is not None]
    return not intersect(carried, egress_reach(acl))
