"""Events to applications: which apps an event may have changed.

kinesisanalytics events name the application; IAM events name a role (or a managed policy,
whose roles IAM lists); EC2 events name route tables, subnets or VPCs, which the inventory maps
to the apps whose subnets use them. A look-up may read AWS (which subnets a table serves), never
write. Over-approximating is harmless: reconciling an unaffected app finds no drift. Look-ups
read the event's account (through its assumed role), which intake has already checked is covered.
"""

from __future__ import annotations

from collections.abc import Callable

from daemon.aws import Aws, AwsByRegion
from daemon.errors import ResourceNotFound
from daemon.ingest.events import Hint
from daemon.reconcile.inventory import Inventory
from daemon.state import AppRef
from remediations.network import served_by


class Router:
    def __init__(self, inventory: Inventory, aws_for_account: Callable[[str], AwsByRegion]) -> None:
        self._inventory = inventory
        self._accounts = aws_for_account

    def _aws(self, account: str, region: str) -> Aws:
        return self._accounts(account).region(region)

    def apps_for(self, hint: Hint) -> set[AppRef]:
        apps = {AppRef(hint.account, hint.region, name) for name in hint.app_names}
        roles = set(hint.role_names)
        for policy_arn in hint.policy_arns:
            roles |= self._roles_with_policy(hint.account, policy_arn)
        if roles:
            apps |= self._inventory.for_roles(hint.account, roles)
        apps |= self._network_apps(hint)
        return apps

    def _roles_with_policy(self, account: str, policy_arn: str) -> set[str]:
        try:
            page = self._aws(account, "us-east-1").call(
                "iam", "ListEntitiesForPolicy", PolicyArn=policy_arn, EntityFilter="Role"
            )
        except ResourceNotFound:
            return set()
        return {r["RoleName"] for r in page.get("PolicyRoles", [])}

    def _network_apps(self, hint: Hint) -> set[AppRef]:
        account, region = hint.account, hint.region
        apps = self._inventory.for_subnets(account, region, hint.subnet_ids)
        apps |= self._inventory.for_vpcs(account, region, hint.vpc_ids)
        if hint.route_table_ids:
            subnets, vpcs = self._served_by(account, region, hint.route_table_ids)
            apps |= self._inventory.for_subnets(account, region, subnets)
            apps |= self._inventory.for_vpcs(account, region, vpcs)
        if hint.association_ids and not (hint.subnet_ids or hint.route_table_ids):
            # A removed association can no longer be looked up: every VPC app may be affected.
            apps |= self._inventory.in_any_vpc(account, region)
        return apps

    def _served_by(
        self, account: str, region: str, table_ids: tuple[str, ...]
    ) -> tuple[set[str], set[str]]:
        """Subnets explicitly associated with the tables, and VPCs whose main table they are
        (every subnet without its own association in those VPCs uses it); the same reading
        of associations as the VPC rules (`remediations.network`)."""
        subnets: set[str] = set()
        vpcs: set[str] = set()
        for table_id in table_ids:
            try:
                tables = self._aws(account, region).call(
                    "ec2", "DescribeRouteTables", RouteTableIds=[table_id]
                )["RouteTables"]
            except ResourceNotFound:
                continue
            for table in tables:
                table_subnets, table_vpcs = served_by(table)
                subnets |= table_subnets
                vpcs |= table_vpcs
        return subnets, vpcs
