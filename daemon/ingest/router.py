"""Events to applications: which apps an event may have changed.

kinesisanalytics events name the application; IAM events name a role (or a managed policy,
whose roles IAM lists); EC2 events name route tables, subnets, VPCs, NAT gateways, prefix lists
or network ACLs, which the inventory maps to the apps whose subnets use them
(daemon/ingest/network_lookups.py for the last three). A look-up may read AWS (which subnets a
table serves), never write. Over-approximating is harmless: reconciling an unaffected app finds
no drift.

Every look-up is an index hit (daemon/reconcile/inventory.py). The two that need AWS (a managed
policy's roles, a route table's subnets) are remembered for `ttl_seconds`, so a burst about one
table or policy costs one read; an event that changes what they answer (attaching or detaching
a policy, associating a table) forgets the entry first, and the sweep is the safety net for a
missed event within the TTL.

Look-ups read the event's account (through its assumed role), which intake has already checked
is covered. Every application an event names is owed a reconcile: an event is a hint, and an
extra reconcile finds no drift, where a skipped one could leave a drift until the next sweep.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from daemon.aws import Aws, AwsByRegion
from daemon.errors import ResourceNotFound
from daemon.ingest.events import Hint
from daemon.ingest.network_lookups import nat_gateway_vpcs, network_acl_subnets, prefix_list_users
from daemon.reconcile.inventory import Inventory
from daemon.state import AppRef
from daemon.ttl_cache import TtlCache
from remediations.network import served_by

Served = tuple[frozenset[str], frozenset[str]]  # (subnets, VPCs) a route table serves
# Events after which a remembered answer may be wrong.
_CHANGES_POLICY_ROLES = frozenset({"AttachRolePolicy", "DetachRolePolicy", "DeletePolicy"})


class Router:
    def __init__(
        self,
        inventory: Inventory,
        aws_for_account: Callable[[str], AwsByRegion],
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inventory = inventory
        self._accounts = aws_for_account
        self._remembered: TtlCache[tuple[str, ...], object] = TtlCache(
            ttl_seconds, clock, maxsize=10_000
        )

    def apps_for(self, hint: Hint) -> set[AppRef]:
        self._forget_changed(hint)
        apps = {AppRef(hint.account, hint.region, name) for name in hint.app_names}
        roles = set(hint.role_names)
        for policy_arn in hint.policy_arns:
            roles |= self._roles_with_policy(hint.account, policy_arn)
        if roles:
            apps |= self._inventory.for_roles(hint.account, roles)
        apps |= self._network_apps(hint)
        return apps

    def _aws(self, account: str, region: str) -> Aws:
        return self._accounts(account).region(region)

    def _forget_changed(self, hint: Hint) -> None:
        if hint.event_name in _CHANGES_POLICY_ROLES:
            for policy_arn in hint.policy_arns:
                self._remembered.pop(("policy", hint.account, policy_arn))
        if hint.association_ids or (hint.route_table_ids and hint.subnet_ids):
            for table_id in hint.route_table_ids:
                self._remembered.pop(("table", hint.account, hint.region, table_id))

    def _roles_with_policy(self, account: str, policy_arn: str) -> frozenset[str]:
        key = ("policy", account, policy_arn)
        remembered = self._remembered.get(key)
        if isinstance(remembered, frozenset):
            return remembered
        roles: set[str] = set()
        marker: str | None = None
        try:
            while True:
                page = self._aws(account, "us-east-1").call(
                    "iam",
                    "ListEntitiesForPolicy",
                    PolicyArn=policy_arn,
                    EntityFilter="Role",
                    **({"Marker": marker} if marker else {}),
                )
                roles |= {r["RoleName"] for r in page.get("PolicyRoles", [])}
                marker = page.get("Marker") if page.get("IsTruncated") else None
                if not marker:
                    break
        except ResourceNotFound:
            pass
        answer = frozenset(roles)
        self._remembered.put(key, answer)
        return answer

    def _network_apps(self, hint: Hint) -> set[AppRef]:
        account, region = hint.account, hint.region
        apps = self._inventory.for_subnets(account, region, hint.subnet_ids)
        apps |= self._inventory.for_vpcs(account, region, hint.vpc_ids)
        if hint.route_table_ids:
            subnets, vpcs = self._served_by(account, region, hint.route_table_ids)
            apps |= self._inventory.for_subnets(account, region, subnets)
            apps |= self._inventory.for_vpcs(account, region, vpcs)
        if hint.nat_gateway_ids or hint.prefix_list_ids or hint.network_acl_ids:
            apps |= self._internet_path_apps(hint)
        if hint.association_ids and not (hint.subnet_ids or hint.route_table_ids):
            # A removed association can no longer be looked up: every VPC app may be affected.
            apps |= self._inventory.in_any_vpc(account, region)
        return apps

    def _internet_path_apps(self, hint: Hint) -> set[AppRef]:
        """Apps whose paths a NAT gateway, prefix list or network ACL event may change."""
        account, region = hint.account, hint.region
        aws = self._aws(account, region)
        subnets, vpcs = set(), set()
        if hint.nat_gateway_ids:
            vpcs |= nat_gateway_vpcs(aws, hint.nat_gateway_ids)
        if hint.prefix_list_ids:
            list_subnets, list_vpcs = prefix_list_users(aws, hint.prefix_list_ids)
            subnets |= list_subnets
            vpcs |= list_vpcs
        if hint.network_acl_ids:
            subnets |= network_acl_subnets(aws, hint.network_acl_ids)
        apps = self._inventory.for_subnets(account, region, subnets)
        return apps | self._inventory.for_vpcs(account, region, vpcs)

    def _served_by(
        self, account: str, region: str, table_ids: tuple[str, ...]
    ) -> tuple[set[str], set[str]]:
        """Subnets explicitly associated with the tables, and VPCs whose main table they are
        (every subnet without its own association in those VPCs uses it); the same reading
        of associations as the VPC rules (`remediations.network`)."""
        subnets: set[str] = set()
        vpcs: set[str] = set()
        for table_id in table_ids:
            table_subnets, table_vpcs = self._table(account, region, table_id)
            subnets |= table_subnets
            vpcs |= table_vpcs
        return subnets, vpcs

    def _table(self, account: str, region: str, table_id: str) -> Served:
        key = ("table", account, region, table_id)
        remembered = self._remembered.get(key)
        if isinstance(remembered, tuple):
            return remembered
        subnets: set[str] = set()
        vpcs: set[str] = set()
        try:
            tables = self._aws(account, region).call(
                "ec2", "DescribeRouteTables", RouteTableIds=[table_id]
            )
            for table in tables["RouteTables"]:
                table_subnets, table_vpcs = served_by(table)
                subnets |= table_subnets
                vpcs |= table_vpcs
        except ResourceNotFound:
            pass
        answer = (frozenset(subnets), frozenset(vpcs))
        self._remembered.put(key, answer)
        return answer
