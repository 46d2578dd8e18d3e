"""Issue 5's "done when", end to end: `flink-remediator run` as its own process against the
sandbox. A role without trust conditions and with AdministratorAccess is used by two apps. After
the daemon's initial sweep another user makes the role bad again with IAM calls; the daemon,
woken only by those IAM events (no second sweep runs), restores both conditions naming both apps
and detaches AdministratorAccess, each change made once for the shared role."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import Sandbox
from sandbox.testing import Credentials, client
from tests.e2e.configs import write_config
from tests.harness import DaemonProcess, Target

ROLE = "shared-execution"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
BARE_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "kinesisanalytics.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
APPS = ("ledger", "orders")


@pytest.fixture
def world(
    fresh_sandbox: Sandbox, iam_user: Callable[..., Credentials], tmp_path: Path
) -> Iterator[dict[str, Any]]:
    admin = {
        s: client(fresh_sandbox.endpoint_url, fresh_sandbox.region, s)
        for s in ("iam", "kinesisanalyticsv2", "sqs")
    }
    role = admin["iam"].create_role(RoleName=ROLE, AssumeRolePolicyDocument=BARE_TRUST)["Role"]
    admin["iam"].attach_role_policy(RoleName=ROLE, PolicyArn=ADMIN)
    for name in APPS:
        admin["kinesisanalyticsv2"].create_application(
            ApplicationName=name, RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=role["Arn"]
        )
    daemon_keys, actor_keys = iam_user("flink-remediator"), iam_user("alice")
    admin["sqs"].purge_queue(QueueUrl=fresh_sandbox.queue_url)  # the setup's own events
    config = write_config(
        tmp_path / "desired.yaml",
        enabled=("execution_role_trust", "execution_role_permissions"),
        regions=(fresh_sandbox.region,),
        account=fresh_sandbox.account_id,
    )
    daemon = DaemonProcess(
        Target.of(fresh_sandbox, daemon_keys),
        config,
        tmp_path / "daemon.log",
        *("--region", fresh_sandbox.region, "--sweep-interval-seconds", "3600"),
        *("--sweep-jitter-seconds", "0", "--debounce-seconds", "0.2", "--workers", "4"),
    )
    try:
        yield {
            "daemon": daemon,
            "daemon_keys": daemon_keys,
            "iam": admin["iam"],
            "sqs": admin["sqs"],
            "actor_iam": client(
                fresh_sandbox.endpoint_url, fresh_sandbox.region, "iam", actor_keys
            ),
        }
    finally:
        daemon.stop()


def role_state(iam: Any) -> tuple[Any, list[str]]:
    (statement,) = iam.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]["Statement"]
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    return statement.get("Condition"), [p["PolicyArn"] for p in attached]


def test_iam_events_alone_make_the_daemon_restore_the_shared_role(
    world: dict[str, Any], fresh_sandbox: Sandbox
) -> None:
    daemon: DaemonProcess = world["daemon"]
    iam, actor_iam = world["iam"], world["actor_iam"]
    app_arns = sorted(
        f"arn:aws:kinesisanalytics:{fresh_sandbox.region}:{fresh_sandbox.account_id}"
        f":application/{name}"
        for name in APPS
    )
    wanted = {
        "StringEquals": {"aws:SourceAccount": fresh_sandbox.account_id},
        "ArnEquals": {"aws:SourceArn": app_arns},
    }
    daemon.until(lambda: daemon.events("sweep_finished"), "the initial sweep")
    assert role_state(iam) == (wanted, [])  # the sweep fixed the role

    fresh_sandbox_calls_before = len(fresh_sandbox.calls())
    actor_iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=BARE_TRUST)
    actor_iam.attach_role_policy(RoleName=ROLE, PolicyArn=ADMIN)

    def received() -> set[str]:
        return {e.get("event_name", "") for e in daemon.events("event_received")}

    daemon.until(
        lambda: {"UpdateAssumeRolePolicy", "AttachRolePolicy"} <= received(),
        "both IAM events",
    )
    daemon.until(lambda: role_state(iam) == (wanted, []), "the role restored")

    def settled() -> bool:
        by_events = {
            e.get("app") for e in daemon.events("reconcile_finished") if e.get("trigger") == "event"
        }
        attributes = world["sqs"].get_queue_attributes(
            QueueUrl=fresh_sandbox.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return by_events == set(APPS) and not any(int(v) for v in attributes.values())

    daemon.until(settled, "event-triggered reconciles of both apps, and every message handled")

    for entry in daemon.events("event_received"):
        if entry.get("event_name") in ("UpdateAssumeRolePolicy", "AttachRolePolicy"):
            assert sorted(entry["apps"]) == list(APPS)  # the role's apps, via the inventory
    assert len(daemon.events("sweep_finished")) == 1  # no second sweep: events did it
    daemon_arn = world["daemon_keys"].arn
    writes = [
        c.operation
        for c in fresh_sandbox.calls()[fresh_sandbox_calls_before:]
        if c.caller_arn == daemon_arn and c.mutating and c.service == "iam"
    ]
    # Once per role, although two apps were reconciled for each of two events.
    assert sorted(writes) == ["DetachRolePolicy", "UpdateAssumeRolePolicy"]
