"""A pass's shared reads (daemon/reconcile/pass_reads.py) against the sandbox over HTTP: the
same drifts as reading alone, fewer calls, and writes still decided on fresh reads."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from daemon.aws import Aws, AwsByRegion
from daemon.reconcile.fleet import reconcile_all
from daemon.reconcile.inventory import Inventory, index_applications
from daemon.reconcile.pass_reads import PassReads
from daemon.reconcile.reconciler import Reads, Reconciler
from daemon.reconcile.result import ReconcileResult
from daemon.state import AppRef, Cause, Mode
from remediations import cloudwatch_logging as logging_rule
from remediations import execution_role_permissions as permissions
from remediations import execution_role_trust as trust
from remediations.base import AnyRule, RuleSettings
from sandbox.server import Sandbox
from sandbox.testing import Credentials, execution_role

Rules = list[tuple[AnyRule, RuleSettings, Mode]]
GROUP = "/aws/kinesis-analytics/"
STREAM = "kinesis-analytics-log-stream"


def rules(mode: Mode) -> Rules:
    return [
        (logging_rule.CloudwatchLogging(), logging_rule.Settings(), mode),
        (trust.ExecutionRoleTrust(), trust.Settings(), mode),
        (permissions.ExecutionRolePermissions(), permissions.Settings(), mode),
    ]


@pytest.fixture
def fleet(
    fresh_sandbox: Sandbox,
    aws: Callable[..., Any],
    iam_user: Callable[..., Credentials],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Aws, tuple[AppRef, ...], Credentials]:
    """Nine apps over three roles (one with AdministratorAccess), log groups and streams in
    every combination of present and missing, options pointing at them or elsewhere."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    iam, flink, logs = aws("iam"), aws("kinesisanalyticsv2"), aws("logs")
    roles = [execution_role(iam, f"role-{i}") for i in range(3)]
    iam.attach_role_policy(
        RoleName="role-0", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    account, region = fresh_sandbox.account_id, fresh_sandbox.region
    for i in range(9):
        name = f"app-{i}"
        group = GROUP + name
        if i % 3 != 0:
            logs.create_log_group(logGroupName=group)
        if i % 3 == 2:
            logs.create_log_stream(logGroupName=group, logStreamName=STREAM)
        flink.create_application(
            ApplicationName=name,
            RuntimeEnvironment="FLINK-1_20",
            ServiceExecutionRole=roles[i % 3],
        )
    for extra in ("/aws/kinesis-analytics/app-1-other", "/other/app-4"):
        logs.create_log_group(logGroupName=extra)
    daemon = iam_user("flink-remediator")
    session = boto3.session.Session(
        aws_access_key_id=daemon.access_key_id,
        aws_secret_access_key=daemon.secret_access_key,
        region_name=region,
    )
    client = Aws(region, session=session, max_backoff_seconds=0.2)
    apps = tuple(AppRef(account, region, f"app-{i}") for i in range(9))
    return client, apps, daemon


def run(client: Aws, rules: Rules, shared: bool, dry_run: bool) -> list[ReconcileResult]:
    inventory, reads = Inventory(), PassReads()
    account = client.account_id()
    apps = index_applications(
        AwsByRegion(lambda _: client),
        account,
        [client.region],
        inventory,
        reads if shared else None,
    )
    reconciler = Reconciler(
        lambda _: client,
        lambda _a, _t: rules,
        dry_run,
        reads=Reads(role_index=inventory.role_index(lambda: True)),
    )
    return reconcile_all(reconciler, apps, Cause("sweep", reads=reads if shared else None), 4)


def drifts(results: list[ReconcileResult]) -> list[tuple[str, str, str, str, str]]:
    return sorted(
        (d.app.name, d.rule, d.field, json.dumps(d.current), json.dumps(d.desired))
        for r in results
        if r.plan
        for d in r.plan.drifts
    )


def operations(sandbox: Sandbox, daemon: Credentials) -> Counter[str]:
    return Counter(c.operation for c in sandbox.calls() if c.caller_arn == daemon.arn)


def test_shared_reads_find_the_same_drifts_with_fewer_calls(
    fleet: tuple[Aws, tuple[AppRef, ...], Credentials], fresh_sandbox: Sandbox
) -> None:
    client, apps, daemon = fleet
    fresh_sandbox.middleware.calls.clear()
    alone = run(client, rules("enforce"), shared=False, dry_run=True)
    alone_calls = operations(fresh_sandbox, daemon)
    fresh_sandbox.middleware.calls.clear()
    shared = run(client, rules("enforce"), shared=True, dry_run=True)
    shared_calls = operations(fresh_sandbox, daemon)

    assert [r.result for r in alone] == [r.result for r in shared]
    assert drifts(shared) == drifts(alone)
    assert {d[2] for d in drifts(alone)} >= {"LogGroup", "LogStream", "CloudWatchLoggingOptions"}
    # Each app described once (by the listing), one log-group listing, each role read once.
    # Plus, before the detach planned on one shared role, each of its 3 apps reads the 2 others
    # (what they need from the role is simulated first: remediations/role_simulation.py).
    assert shared_calls["DescribeApplication"] == len(apps) + 3 * 2
    assert alone_calls["DescribeApplication"] == 2 * len(apps) + 3 * 2
    assert shared_calls["DescribeLogGroups"] == 1
    assert alone_calls["DescribeLogGroups"] == len(apps)
    assert shared_calls["GetRole"] == 3 < alone_calls["GetRole"]


def test_writes_under_shared_reads_are_decided_on_fresh_reads(
    fleet: tuple[Aws, tuple[AppRef, ...], Credentials], fresh_sandbox: Sandbox
) -> None:
    client, apps, daemon = fleet
    fresh_sandbox.middleware.calls.clear()
    first = run(client, rules("enforce"), shared=True, dry_run=False)
    assert all(r.result == "fixed" for r in first), [(r.app.name, r.error) for r in first]
    writes = Counter(
        c.operation for c in fresh_sandbox.calls() if c.caller_arn == daemon.arn and c.mutating
    )
    # Each shared role is changed once although three apps found it drifted on the pass's read.
    assert writes["UpdateAssumeRolePolicy"] == 3
    assert writes["DetachRolePolicy"] == 1
    assert writes["CreateLogGroup"] == 3 and writes["CreateLogStream"] == 6
    again = run(client, rules("enforce"), shared=True, dry_run=True)
    assert [r.result for r in again] == ["in_sync"] * len(apps), drifts(again)
