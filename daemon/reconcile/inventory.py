"""Which applications exist, and the index that maps IAM and EC2 resources back to them.

Sweeps rebuild the index; every reconcile keeps its own entry current. Events about a role or
a subnet's routes reach applications only through this index.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from daemon.aws import Aws
from daemon.state import AppRef


def list_applications(aws: Aws, account: str) -> tuple[AppRef, ...]:
    """Every application in the client's region (ListApplications, all pages)."""
    apps: list[AppRef] = []
    token: str | None = None
    while True:
        page = aws.call(
            "kinesisanalyticsv2", "ListApplications", **({"NextToken": token} if token else {})
        )
        apps.extend(
            AppRef(account, aws.region, s["ApplicationName"])
            for s in page.get("ApplicationSummaries", [])
        )
        token = page.get("NextToken")
        if not token:
            return tuple(sorted(apps))


@dataclass(frozen=True)
class AppFacts:
    """What the index needs to know about one application."""

    role_name: str = ""
    subnet_ids: frozenset[str] = frozenset()
    vpc_ids: frozenset[str] = frozenset()

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> AppFacts:
        role_arn = str(detail.get("ServiceExecutionRole", ""))
        vpcs = (detail.get("ApplicationConfigurationDescription") or {}).get(
            "VpcConfigurationDescriptions"
        ) or []
        return cls(
            role_name=role_arn.rsplit("/", 1)[-1] if role_arn else "",
            subnet_ids=frozenset(s for v in vpcs for s in v.get("SubnetIds", [])),
            vpc_ids=frozenset(v["VpcId"] for v in vpcs if v.get("VpcId")),
        )


class Inventory:
    """A thread-safe index: application -> facts, and the reverse look-ups events need."""

    def __init__(self) -> None:
        self._apps: dict[AppRef, AppFacts] = {}
        self._indexed_accounts: set[str] = set()  # listed completely at least once
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._apps)

    def update(self, app: AppRef, facts: AppFacts) -> None:
        with self._lock:
            self._apps[app] = facts

    def mark_indexed(self, account: str) -> None:
        with self._lock:
            self._indexed_accounts.add(account)

    def indexed(self, account: str) -> bool:
        with self._lock:
            return account in self._indexed_accounts

    def forget(self, app: AppRef) -> None:
        with self._lock:
            self._apps.pop(app, None)

    def retain(self, account: str, region: str, present: Iterable[AppRef]) -> tuple[AppRef, ...]:
        """After a sweep of one account and region: drop apps that no longer exist there."""
        keep = set(present)
        with self._lock:
            gone = [
                a
                for a in self._apps
                if a.account == account and a.region == region and a not in keep
            ]
            for app in gone:
                del self._apps[app]
        return tuple(gone)

    def _select(self, account: str, region: str | None, wanted: Any) -> set[AppRef]:
        with self._lock:
            return {
                app
                for app, facts in self._apps.items()
                if app.account == account
                and (region is None or app.region == region)
                and wanted(facts)
            }

    def for_roles(self, account: str, role_names: Iterable[str]) -> set[AppRef]:
        """IAM is global: a role's apps in every region."""
        names = set(role_names)
        return self._select(account, None, lambda f: f.role_name in names)

    def for_subnets(self, account: str, region: str, subnet_ids: Iterable[str]) -> set[AppRef]:
        subnets = set(subnet_ids)
        return self._select(account, region, lambda f: bool(f.subnet_ids & subnets))

    def for_vpcs(self, account: str, region: str, vpc_ids: Iterable[str]) -> set[AppRef]:
        vpcs = set(vpc_ids)
        return self._select(account, region, lambda f: bool(f.vpc_ids & vpcs))

    def role_index(
        self, complete: Callable[[], bool]
    ) -> Callable[[str], tuple[AppRef, ...] | None]:
        """A `RoleIndex` over this inventory; None until `complete()` says it is filled and
        the role's account has been listed completely."""

        def apps_using(role_arn: str) -> tuple[AppRef, ...] | None:
            account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
            if not complete() or not self.indexed(account):
                return None
            return tuple(sorted(self.for_roles(account, [role_arn.rsplit("/", 1)[-1]])))

        return apps_using

    def in_any_vpc(self, account: str, region: str) -> set[AppRef]:
        return self._select(account, region, lambda f: bool(f.vpc_ids))


def index_applications(
    aws: Any, account: str, regions: Iterable[str], inventory: Inventory
) -> tuple[AppRef, ...]:
    """Fill the index from scratch (read-only: ListApplications and DescribeApplication).
    `aws` is the account's clients (`region(r)`); the account counts as indexed after."""
    found: list[AppRef] = []
    for region in regions:
        client = aws.region(region)
        for app in list_applications(client, account):
            detail = client.call(
                "kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name
            )["ApplicationDetail"]
            inventory.update(app, AppFacts.from_detail(detail))
            found.append(app)
    inventory.mark_indexed(account)
    return tuple(found)
