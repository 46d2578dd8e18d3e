"""Both execution-role rules against the sandbox's IAM over HTTP, through the real Reconciler,
judged by IAM's own answers and the sandbox's record of calls made with the daemon's keys."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from daemon.aws import Aws, AwsByRegion
from daemon.reconcile.fleet import reconcile_all
from daemon.reconcile.inventory import Inventory, index_applications
from daemon.reconcile.reconciler import Reads, Reconciler
from daemon.state import AppRef, Cause, Mode
from remediations import execution_role_permissions as permissions
from remediations import execution_role_trust as trust
from remediations import trust_policy
from remediations.base import AnyRule, RuleSettings
from sandbox.server import Sandbox
from sandbox.testing import Credentials

ROLE = "shared-execution"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": trust_policy.SERVICE},
            "Action": "sts:AssumeRole",
        },
        {
            "Sid": "Ops",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
    ],
}
Rules = list[tuple[AnyRule, RuleSettings, Mode]]


@dataclass
class Account:
    sandbox: Sandbox
    iam: Any
    daemon: Credentials
    apps: tuple[AppRef, ...]

    def aws(self) -> Aws:
        session = boto3.session.Session(
            aws_access_key_id=self.daemon.access_key_id,
            aws_secret_access_key=self.daemon.secret_access_key,
            region_name=self.sandbox.region,
        )
        return Aws(self.sandbox.region, session=session, max_backoff_seconds=0.2)

    def reconciler(self, rules: Rules, aws: Aws | None = None, dry_run: bool = False) -> Any:
        client = aws or self.aws()
        inventory = Inventory()
        index_applications(
            AwsByRegion(lambda _: client), self.sandbox.account_id, [self.sandbox.region], inventory
        )
        return Reconciler(
            lambda _: client,
            lambda _a, _t: rules,
            dry_run,
            reads=Reads(role_index=inventory.role_index(lambda: True)),
        )

    def writes(self) -> list[str]:
        return [
            c.operation
            for c in self.sandbox.calls()
            if c.caller_arn == self.daemon.arn and c.mutating
        ]

    def trust_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.iam.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
        return doc

    def policy(self, name: str, statement: dict[str, Any]) -> str:
        """A customer managed policy with one Allow statement; its ARN."""
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}
        created = self.iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))
        return str(created["Policy"]["Arn"])

    def attached(self) -> list[str]:
        policies = self.iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
        return [p["PolicyArn"] for p in policies]


@pytest.fixture
def account(
    fresh_sandbox: Sandbox,
    aws: Callable[..., Any],
    iam_user: Callable[..., Credentials],
    monkeypatch: pytest.MonkeyPatch,
) -> Account:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    iam, flink = aws("iam"), aws("kinesisanalyticsv2")
    role_arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"][
        "Arn"
    ]
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=ADMIN)
    for name in ("orders", "ledger"):
        flink.create_application(
            ApplicationName=name, RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=role_arn
        )
    apps = tuple(
        AppRef(fresh_sandbox.account_id, fresh_sandbox.region, n) for n in ("ledger", "orders")
    )
    return Account(fresh_sandbox, iam, iam_user("flink-remediator"), apps)


def both_rules(**permission_settings: Any) -> Rules:
    return [
        (trust.ExecutionRoleTrust(), trust.Settings(), "enforce"),
        (
            permissions.ExecutionRolePermissions(),
            permissions.Settings(**permission_settings),
            "enforce",
        ),
    ]


class BothObserveFirst(Aws):
    """Real calls; each reconcile's first GetRole waits until the other one has made its own,
    so both see the bad role before either writes (the race a per-role lock must handle)."""

    def __init__(self, base: Aws) -> None:
        super().__init__(base.region, session=base._session, max_backoff_seconds=0.2)
        self.barrier = threading.Barrier(2, timeout=20)
        self.seen = threading.local()

    def call(self, service: str, operation: str, **params: Any) -> Any:
        response = super().call(service, operation, **params)
        if operation == "GetRole" and not getattr(self.seen, "done", False):
            self.seen.done = True
            self.barrier.wait()
        return response


def test_shared_role_is_fixed_once_even_when_both_apps_race(account: Account) -> None:
    aws = BothObserveFirst(account.aws())
    reconciler = account.reconciler(both_rules(), aws)

    results = reconcile_all(reconciler, account.apps, Cause("sweep"), workers=2)

    # The other app only reports the "Ops" statement (the account may assume the role): an
    # alert, never a write.
    assert sorted(r.result for r in results) == ["drift", "fixed"], [r.error for r in results]
    assert sorted(account.writes()) == ["DetachRolePolicy", "UpdateAssumeRolePolicy"]
    fixed = next(r for r in results if r.result == "fixed")
    messages = " ".join(d.message for d in fixed.plan.drifts) if fixed.plan else ""
    assert "ledger" in messages and "orders" in messages  # the plan names every app affected
    statements = {s.get("Sid", "flink"): s for s in account.trust_document()["Statement"]}
    assert statements["flink"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account.sandbox.account_id},
        "ArnEquals": {"aws:SourceArn": sorted(a.arn for a in account.apps)},
    }
    assert statements["Ops"] == TRUST["Statement"][1]  # the unrelated statement is untouched
    assert account.attached() == []
    again = reconcile_all(reconciler, account.apps, Cause("sweep"), workers=2)
    assert [r.result for r in again] == ["drift", "drift"]
    assert {d.field for r in again if r.plan for d in r.plan.drifts} == {
        "AssumeRolePolicyDocument.Statement[1].Principal"
    }
    assert len(account.writes()) == 2


def test_boundary_strategy_puts_the_boundary_and_keeps_the_policies(account: Account) -> None:
    boundary = account.policy("flink-boundary", {"Action": "kinesis:*", "Resource": "*"})
    rules = both_rules(strategy="boundary", boundary_policy_arn=boundary)[1:]
    reconciler = account.reconciler(rules)

    assert reconciler.reconcile(account.apps[0], Cause("cli")).result == "fixed"
    role = account.iam.get_role(RoleName=ROLE)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert account.attached() == [ADMIN]
    assert account.writes() == ["PutRolePermissionsBoundary"]
    assert reconciler.reconcile(account.apps[1], Cause("cli")).result == "in_sync"
    assert account.writes() == ["PutRolePermissionsBoundary"]


def test_alert_strategy_and_inline_findings_write_nothing(account: Account) -> None:
    wide = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Wide", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    account.iam.put_role_policy(RoleName=ROLE, PolicyName="wide", PolicyDocument=json.dumps(wide))
    reconciler = account.reconciler(both_rules(strategy="alert")[1:])

    result = reconciler.reconcile(account.apps[0], Cause("cli"))

    assert result.result == "drift" and account.writes() == []
    by_field = {d.field: d for d in result.plan.drifts} if result.plan else {}
    assert set(by_field) == {"AttachedPolicies.AdministratorAccess", "InlinePolicies.wide"}
    assert '"Sid": "Wide"' in by_field["InlinePolicies.wide"].message
    got = account.iam.get_role_policy(RoleName=ROLE, PolicyName="wide")["PolicyDocument"]
    assert got == wide and account.attached() == [ADMIN]


def test_customer_managed_policy_statements_are_reported(account: Account) -> None:
    arn = account.policy("flink-extra", {"Action": "iam:PassRole", "Resource": "*"})
    account.iam.attach_role_policy(RoleName=ROLE, PolicyArn=arn)
    result = account.reconciler(both_rules()[1:]).reconcile(account.apps[0], Cause("cli"))

    assert result.result == "fixed"  # AdministratorAccess detached; the customer policy stays
    assert account.writes() == ["DetachRolePolicy"] and account.attached() == [arn]
    (left,) = [d for d in result.plan.drifts if not d.fixable] if result.plan else []
    assert "iam:PassRole on Resource *" in left.message


def test_dry_run_makes_no_iam_write(account: Account) -> None:
    result = account.reconciler(both_rules(), dry_run=True).reconcile(account.apps[0], Cause("cli"))
    assert (
        result.result == "drift" and len(result.plan.drifts if result.plan else ()) == 3
    )  # + the "Ops" report
    assert account.writes() == []
    assert account.trust_document() == TRUST and account.attached() == [ADMIN]
