"""The indexed inventory routes every event kind to the same applications as the scan it
replaced: a copy of the old scan (`ScanInventory`) and the index are fed the same generated
inventories (updates, re-updates, forgets, retains) and asked about the same generated events,
through the same Router."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.aws import AwsByRegion
from daemon.ingest.events import Hint
from daemon.ingest.router import Router
from daemon.reconcile.inventory import AppFacts, Inventory
from daemon.state import AppRef
from tests.vpc_factories import table

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1")
ROLES = ("", "role-a", "role-b", "role-c")
SUBNETS = tuple(f"subnet-{i}" for i in range(5))
VPCS = ("vpc-1", "vpc-2", "vpc-3")
TABLES = ("rtb-1", "rtb-2", "rtb-main")
POLICIES = ("arn:aws:iam::111111111111:policy/p1", "arn:aws:iam::aws:policy/p2")


class ScanInventory:
    """The previous Inventory: every look-up scans all applications."""

    def __init__(self) -> None:
        self._apps: dict[AppRef, AppFacts] = {}

    def update(self, app: AppRef, facts: AppFacts) -> None:
        self._apps[app] = facts

    def forget(self, app: AppRef) -> None:
        self._apps.pop(app, None)

    def retain(self, account: str, region: str, present: Iterable[AppRef]) -> tuple[AppRef, ...]:
        keep = set(present)
        gone = [a for a in self._apps if (a.account, a.region) == (account, region)]
        gone = [a for a in gone if a not in keep]
        for app in gone:
            del self._apps[app]
        return tuple(gone)

    def _select(self, account: str, region: str | None, wanted: Any) -> set[AppRef]:
        return {
            a
            for a, f in self._apps.items()
            if a.account == account and (region is None or a.region == region) and wanted(f)
        }

    def for_roles(self, account: str, role_names: Iterable[str]) -> set[AppRef]:
        names = set(role_names)
        return self._select(account, None, lambda f: f.role_name in names)

    def for_subnets(self, account: str, region: str, subnet_ids: Iterable[str]) -> set[AppRef]:
        subnets = set(subnet_ids)
        return self._select(account, region, lambda f: bool(f.subnet_ids & subnets))

    def for_vpcs(self, account: str, region: str, vpc_ids: Iterable[str]) -> set[AppRef]:
        vpcs = set(vpc_ids)
        return self._select(account, region, lambda f: bool(f.vpc_ids & vpcs))

    def in_any_vpc(self, account: str, region: str) -> set[AppRef]:
        return self._select(account, region, lambda f: bool(f.vpc_ids))


class FakeAws:
    """DescribeRouteTables and ListEntitiesForPolicy answers for a fixed generated world."""

    def __init__(self, tables: Mapping[str, dict[str, Any]], policies: Mapping[str, Any]):
        self._tables, self._policies = tables, policies

    def call(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]:
        if operation == "DescribeRouteTables":
            return {"RouteTables": [self._tables[i] for i in params["RouteTableIds"]]}
        assert operation == "ListEntitiesForPolicy"
        roles = self._policies[params["PolicyArn"]]
        return {"PolicyRoles": [{"RoleName": r} for r in roles], "IsTruncated": False}


apps = st.builds(
    AppRef, st.sampled_from(ACCOUNTS), st.sampled_from(REGIONS), st.sampled_from("abcdefgh")
)
facts = st.builds(
    AppFacts,
    role_name=st.sampled_from(ROLES),
    subnet_ids=st.frozensets(st.sampled_from(SUBNETS), max_size=3),
    vpc_ids=st.frozensets(st.sampled_from(VPCS), max_size=2),
)
changes = st.lists(
    st.one_of(
        st.tuples(st.just("update"), apps, facts),
        st.tuples(st.just("forget"), apps, st.none()),
        st.tuples(st.just("retain"), apps, st.lists(apps, max_size=4)),
    ),
    max_size=40,
)


def ids(pool: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(pool), max_size=2, unique=True).map(lambda v: tuple(sorted(v)))


hints = st.builds(
    Hint,
    event_id=st.just("e-1"),
    event_name=st.sampled_from(
        ("UpdateApplication", "PutRolePolicy", "AttachRolePolicy", "CreateRoute")
    ),
    source=st.sampled_from(("aws.kinesisanalytics", "aws.iam", "aws.ec2")),
    account=st.sampled_from(ACCOUNTS),
    region=st.sampled_from(REGIONS),
    event_time=st.none(),
    actor=st.just(""),
    actor_type=st.just("IAMUser"),
    app_names=ids(tuple("abcdefgh")),
    role_names=ids(ROLES[1:]),
    policy_arns=ids(POLICIES),
    route_table_ids=ids(TABLES),
    subnet_ids=ids(SUBNETS),
    vpc_ids=ids(VPCS),
    association_ids=ids(("rtbassoc-1",)),
)
worlds = st.tuples(
    st.fixed_dictionaries(
        {
            "rtb-1": st.lists(st.sampled_from(SUBNETS), max_size=2, unique=True),
            "rtb-2": st.lists(st.sampled_from(SUBNETS), max_size=2, unique=True),
        }
    ),
    st.sampled_from(VPCS),
    st.fixed_dictionaries({p: st.lists(st.sampled_from(ROLES[1:]), unique=True) for p in POLICIES}),
)


def apply_changes(inventory: Any, steps: list[tuple[str, AppRef, Any]]) -> list[object]:
    returned: list[object] = []
    for kind, app, arg in steps:
        if kind == "update":
            inventory.update(app, arg)
        elif kind == "forget":
            inventory.forget(app)
        else:
            returned.append(sorted(inventory.retain(app.account, app.region, arg)))
    return returned


@settings(max_examples=300, deadline=None)
@given(changes, st.lists(hints, min_size=1, max_size=5), worlds)
def test_every_event_kind_routes_to_the_same_apps_as_the_scan(
    steps: list[tuple[str, AppRef, Any]], events: list[Hint], world: Any
) -> None:
    table_subnets, main_vpc, policy_roles = world
    tables = {t: table(t, subnets=tuple(s)) for t, s in table_subnets.items()}
    main = table("rtb-main", main=True)
    tables["rtb-main"] = {**main, "VpcId": main_vpc}
    aws = FakeAws(tables, policy_roles)
    scan, index = ScanInventory(), Inventory()
    assert apply_changes(scan, steps) == apply_changes(index, steps)
    clients = AwsByRegion(lambda region: aws)  # type: ignore[arg-type, return-value]
    by_account: Callable[[str], Any] = lambda account: clients  # noqa: E731
    old, new = Router(scan, by_account), Router(index, by_account)  # type: ignore[arg-type]
    for hint in events:
        assert new.apps_for(hint) == old.apps_for(hint)
    assert len(index) == len(scan._apps)


@given(changes)
def test_the_index_keeps_no_empty_or_stale_entries(steps: list[tuple[str, AppRef, Any]]) -> None:
    index = Inventory()
    apply_changes(index, steps)
    for app in list(index._apps):
        index.forget(app)
    assert len(index) == 0
    assert not (index._by_role or index._by_subnet or index._by_vpc or index._in_vpc)
    assert not index._by_place
