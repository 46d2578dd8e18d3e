"""Which applications exist, and the index that maps IAM and EC2 resources back to them.

Sweeps rebuild the index; every reconcile keeps its own entry current. Events about a role or
a subnet's routes reach applications only through this index.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from daemon.aws import Aws
from daemon.reconcile.pass_reads import PassReads
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


@dataclass(frozen=True, slots=True)
class AppFacts:
    """What the index needs to know about one application (slots and interned names: 5,000
    of them must stay small)."""

    role_name: str = ""
    subnet_ids: frozenset[str] = frozenset()
    vpc_ids: frozenset[str] = frozenset()

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> AppFacts:
        role_arn = str(detail.get("ServiceExecutionRole", ""))
        vpcs = (detail.get("ApplicationConfigurationDescription") or {}).get(
            "VpcConfigurationDescriptions"
        ) or []
        subnets = frozenset(sys.intern(s) for v in vpcs for s in v.get("SubnetIds", []))
        vpc_ids = frozenset(sys.intern(v["VpcId"]) for v in vpcs if v.get("VpcId"))
        return cls(
            role_name=sys.intern(role_arn.rsplit("/", 1)[-1]) if role_arn else "",
            subnet_ids=subnets or _NONE,
            vpc_ids=vpc_ids or _NONE,
        )


_NONE: frozenset[str] = frozenset()
_Key = tuple[str, ...]
_Index = dict[_Key, set[AppRef]]


class Inventory:
    """A thread-safe index: application -> facts, and reverse indexes (role, subnet, VPC,
    account and Region) so that every look-up an event needs costs O(apps it returns), not a
    scan of the fleet."""

    def __init__(self) -> None:
        self._apps: dict[AppRef, AppFacts] = {}
        self._indexed_accounts: set[str] = set()  # listed completely at least once
        self._by_role: _Index = {}  # (account, role name)
        self._by_subnet: _Index = {}  # (account, region, subnet)
        self._by_vpc: _Index = {}  # (account, region, VPC)
        self._in_vpc: _Index = {}  # (account, region): apps in any VPC
        self._by_place: _Index = {}  # (account, region): every app
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._apps)

    def update(self, app: AppRef, facts: AppFacts) -> None:
        with self._lock:
            old = self._apps.get(app)
            if old == facts:
                return
            if old is not None:
                self._unindex(app, old)
            self._apps[app] = facts
            for index, key in self._keys(app, facts):
                index.setdefault(key, set()).add(app)

    def mark_indexed(self, account: str) -> None:
        with self._lock:
            self._indexed_accounts.add(account)

    def indexed(self, account: str) -> bool:
        with self._lock:
            return account in self._indexed_accounts

    def forget(self, app: AppRef) -> None:
        with self._lock:
            old = self._apps.pop(app, None)
            if old is not None:
                self._unindex(app, old)

    def retain(self, account: str, region: str, present: Iterable[AppRef]) -> tuple[AppRef, ...]:
        """After a sweep of one account and region: drop apps that no longer exist there."""
        keep = set(present)
        with self._lock:
            gone = [a for a in self._by_place.get((account, region), ()) if a not in keep]
            for app in gone:
                self._unindex(app, self._apps.pop(app))
        return tuple(gone)

    def _keys(self, app: AppRef, facts: AppFacts) -> list[tuple[_Index, _Key]]:
        place = (app.account, app.region)
        keys: list[tuple[_Index, _Key]] = [(self._by_place, place)]
        if facts.role_name:
            keys.append((self._by_role, (app.account, facts.role_name)))
        keys += [(self._by_subnet, (*place, s)) for s in facts.subnet_ids]
        keys += [(self._by_vpc, (*place, v)) for v in facts.vpc_ids]
        if facts.vpc_ids:
            keys.append((self._in_vpc, place))
        return keys

    def _unindex(self, app: AppRef, facts: AppFacts) -> None:
        for index, key in self._keys(app, facts):
            members = index.get(key)
            if members is not None:
                members.discard(app)
                if not members:
                    del index[key]

    def _union(self, index: _Index, keys: Iterable[_Key]) -> set[AppRef]:
        found: set[AppRef] = set()
        with self._lock:
            for key in keys:
                found |= index.get(key, _NO_APPS)
        return found

    def for_roles(self, account: str, role_names: Iterable[str]) -> set[AppRef]:
        """IAM is global: a role's apps in every region."""
        return self._union(self._by_role, [(account, name) for name in set(role_names)])

    def for_subnets(self, account: str, region: str, subnet_ids: Iterable[str]) -> set[AppRef]:
        return self._union(self._by_subnet, [(account, region, s) for s in set(subnet_ids)])

    def for_vpcs(self, account: str, region: str, vpc_ids: Iterable[str]) -> set[AppRef]:
        return self._union(self._by_vpc, [(account, region, v) for v in set(vpc_ids)])

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
        return self._union(self._in_vpc, [(account, region)])


_NO_APPS: frozenset[AppRef] = frozenset()


def index_applications(
    aws: Any,
    account: str,
    regions: Iterable[str],
    inventory: Inventory,
    reads: PassReads | None = None,
    workers: int = 8,
) -> tuple[AppRef, ...]:
    """Fill the index from scratch (read-only: ListApplications, then DescribeApplication of
    `workers` apps at a time); `reads` keeps each detail as the observation of the pass that
    follows."""
    found: list[AppRef] = []
    for region in regions:
        client = aws.region(region)
        listed = list_applications(client, account)
        describe_apps(client, listed, inventory, reads, workers)
        found.extend(listed)
    inventory.mark_indexed(account)
    return tuple(found)


def describe_apps(
    client: Aws,
    apps: Iterable[AppRef],
    inventory: Inventory,
    reads: PassReads | None = None,
    workers: int = 8,
    on_detail: Callable[[AppRef, Mapping[str, Any]], None] | None = None,
) -> None:
    """DescribeApplication of `apps`, `workers` at a time, into the index, `reads` and
    `on_detail` (the first error is raised)."""
    index = functools.partial(_index_one, client, inventory, reads, on_detail)
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="index") as pool:
        list(pool.map(index, apps))  # list(): the first error is raised here


def _index_one(
    client: Aws,
    inventory: Inventory,
    reads: PassReads | None,
    on_detail: Callable[[AppRef, Mapping[str, Any]], None] | None,
    app: AppRef,
) -> None:
    detail = client.call("kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name)[
        "ApplicationDetail"
    ]
    inventory.update(app, AppFacts.from_detail(detail))
    if reads is not None:
        reads.remember_detail(app, detail)
    if on_detail is not None:
        on_detail(app, detail)
