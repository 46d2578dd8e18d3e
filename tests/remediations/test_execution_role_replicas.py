"""Several replicas share one execution role: a replica whose inventory lacks a newly created
application must not rewrite the role's trust policy without it. Two reconcilers with two
inventories (one indexed before the new app existed) against the sandbox's IAM and Managed
Flink over HTTP; judged by IAM's own answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from daemon.aws import Aws, AwsByRegion
from daemon.reconcile.inventory import Inventory, index_applications
from daemon.reconcile.reconciler import Reads, Reconciler
from daemon.state import AppRef, Cause, Mode
from remediations import execution_role_trust as trust
from remediations import trust_policy
from remediations.base import AnyRule, RuleSettings
from sandbox.server import Sandbox

ROLE = "shared-execution"
OPEN_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": trust_policy.SERVICE},
            "Action": "sts:AssumeRole",
        }
    ],
}


class Replica:
    """One daemon replica: its own inventory (indexed when it last swept) and reconciler."""

    def __init__(self, aws: Aws, sandbox: Sandbox) -> None:
        self.inventory = Inventory()
        index_applications(
            AwsByRegion(lambda _: aws), sandbox.account_id, [sandbox.region], self.inventory
        )
        rules: list[tuple[AnyRule, RuleSettings, Mode]] = [
            (trust.ExecutionRoleTrust(), trust.Settings(), "enforce")
        ]
        self.reconciler = Reconciler(
            lambda _: aws,
            lambda _a, _t: rules,
            False,
            reads=Reads(role_index=self.inventory.role_index(lambda: True)),
        )

    def reconcile(self, app: AppRef) -> str:
        return self.reconciler.reconcile(app, Cause("sweep")).result


@pytest.fixture
def setup(
    fresh_sandbox: Sandbox, aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[Sandbox, Any, Any, Aws, str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    iam, flink = aws("iam"), aws("kinesisanalyticsv2")
    role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(OPEN_TRUST))
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=fresh_sandbox.region,
    )
    client = Aws(fresh_sandbox.region, session=session, max_backoff_seconds=0.2)
    return fresh_sandbox, iam, flink, client, str(role["Role"]["Arn"])


def source_arns(iam: Any) -> set[str]:
    doc = iam.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    condition = doc["Statement"][0].get("Condition") or {}
    values = condition.get("ArnEquals", {}).get(trust_policy.SOURCE_ARN, [])
    return {values} if isinstance(values, str) else set(values)


def create(flink: Any, name: str, role_arn: str) -> None:
    flink.create_application(
        ApplicationName=name, RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=role_arn
    )


def test_a_stale_replica_keeps_the_new_app_in_the_trust_policy(
    setup: tuple[Sandbox, Any, Any, Aws, str],
) -> None:
    sandbox, iam, flink, aws, role_arn = setup
    create(flink, "orders", role_arn)
    stale = Replica(aws, sandbox)  # indexed before "ledger" existed
    create(flink, "ledger", role_arn)
    fresh = Replica(aws, sandbox)
    orders, ledger = (AppRef(sandbox.account_id, sandbox.region, n) for n in ("orders", "ledger"))

    assert fresh.reconcile(ledger) == "fixed"
    assert source_arns(iam) == {orders.arn, ledger.arn}
    # The stale replica's inventory knows only "orders": it must not drop "ledger".
    assert stale.reconcile(orders) == "in_sync"
    assert source_arns(iam) == {orders.arn, ledger.arn}

    # Once DescribeApplication says "ledger" is gone, the stale replica may drop it.
    created = flink.describe_application(ApplicationName="ledger")["ApplicationDetail"][
        "CreateTimestamp"
    ]
    flink.delete_application(ApplicationName="ledger", CreateTimestamp=created)
    sandbox.advance_clock(60)  # DELETING ends
    assert stale.reconcile(orders) == "fixed"
    assert source_arns(iam) == {orders.arn}


def test_an_app_in_another_region_is_never_dropped_from_here(
    setup: tuple[Sandbox, Any, Any, Aws, str],
) -> None:
    sandbox, iam, flink, aws, role_arn = setup
    create(flink, "orders", role_arn)
    elsewhere = f"arn:aws:kinesisanalytics:ap-south-2:{sandbox.account_id}:application/far"
    orders = AppRef(sandbox.account_id, sandbox.region, "orders")
    document = json.loads(json.dumps(OPEN_TRUST))
    document["Statement"][0]["Condition"] = {
        "StringEquals": {trust_policy.SOURCE_ACCOUNT: sandbox.account_id},
        "ArnEquals": {trust_policy.SOURCE_ARN: [elsewhere]},
    }
    iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(document))
    assert Replica(aws, sandbox).reconcile(orders) == "fixed"
    assert source_arns(iam) == {orders.arn, elsewhere}
