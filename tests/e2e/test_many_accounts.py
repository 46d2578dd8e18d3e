"""Many accounts, end to end: `sandbox serve --demo --accounts 3` (a hub with the daemon's user
and the queue, three member accounts forwarding through the central bus) and the daemon as a
process reaching the members only through their assumed member role. Judged by the sandbox's
own record of calls (account, caller) and its state, never by what the daemon says."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.e2e.configs import write_config
from tests.harness import CLI, DaemonProcess, SandboxProcess, Target, target_environ

pytestmark = pytest.mark.e2e
APP = "payments-enricher"  # snapshots on in the demo: a disabling is an outsider's drift


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    running = SandboxProcess("--accounts", "3")
    yield running
    running.stop()


def config(sandbox: SandboxProcess, path: Path, accounts: list[str] | None = None) -> Path:
    info = sandbox.info
    members = [a["account_id"] for a in info["accounts"]]
    write_config(path, enabled=("snapshots",))
    doc = yaml.safe_load(path.read_text())
    doc["accounts"] = accounts if accounts is not None else [info["account_id"], *members]
    doc["assume_role"], doc["external_id"] = info["assume_role"], info["external_id"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def env(sandbox: SandboxProcess) -> dict[str, str]:
    return target_environ(Target.of(sandbox), {"PATH": "/usr/bin:/bin"})


def member_flink(sandbox: SandboxProcess, index: int) -> Any:
    keys = sandbox.info["accounts"][index]["actor"]
    return boto3.client(
        "kinesisanalyticsv2",
        endpoint_url=sandbox.info["endpoint_url"],
        region_name=sandbox.info["region"],
        aws_access_key_id=keys["aws_access_key_id"],
        aws_secret_access_key=keys["aws_secret_access_key"],
    )


def snapshots_on(flink: Any) -> bool:
    detail = flink.describe_application(ApplicationName=APP)["ApplicationDetail"]
    snapshot = detail["ApplicationConfigurationDescription"][
        "ApplicationSnapshotConfigurationDescription"
    ]
    return detail["ApplicationStatus"] == "READY" and bool(snapshot["SnapshotsEnabled"])


def disable_snapshots(flink: Any) -> None:
    version = flink.describe_application(ApplicationName=APP)["ApplicationDetail"][
        "ApplicationVersionId"
    ]
    flink.update_application(
        ApplicationName=APP,
        CurrentApplicationVersionId=version,
        ApplicationConfigurationUpdate={
            "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": False}
        },
    )


def test_the_json_line_lists_the_member_accounts_with_their_roles(
    sandbox: SandboxProcess,
) -> None:
    accounts = sandbox.info["accounts"]
    assert len(accounts) == 3 and len({a["account_id"] for a in accounts}) == 3
    for entry in accounts:
        assert (
            entry["role_arn"] == f"arn:aws:iam::{entry['account_id']}:role/flink-remediator-member"
        )
    assert sandbox.info["central_bus_arn"].endswith(":event-bus/flink-remediator-central")


def test_plan_lists_drift_in_every_account(sandbox: SandboxProcess, tmp_path: Path) -> None:
    # One member's app drifts: plan must see it, through that member's assumed role.
    member = sandbox.info["accounts"][0]
    disable_snapshots(member_flink(sandbox, 0))
    done = subprocess.run(
        [*CLI, "plan", "--config", str(config(sandbox, tmp_path / "c.yaml")), "--output", "json"],
        env=env(sandbox),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["applications"]
    accounts = {r["account"] for r in results}
    assert accounts == {
        sandbox.info["account_id"],
        *(a["account_id"] for a in sandbox.info["accounts"]),
    }
    drifted = {(r["account"], r["name"]) for r in results if r["result"] == "drift"}
    assert (member["account_id"], APP) in drifted
    reads = sandbox.call_log.calls(account=member["account_id"], operation="ListApplications")
    assert reads and all(":assumed-role/flink-remediator-member/" in c["caller_arn"] for c in reads)


def test_an_outsiders_drift_in_a_member_is_fixed_from_its_event_via_the_member_role(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    member = sandbox.info["accounts"][1]["account_id"]
    daemon = DaemonProcess(sandbox, config(sandbox, tmp_path / "c.yaml"), tmp_path / "d.log")
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        flink = member_flink(sandbox, 1)
        sandbox.call_log.clear()
        disable_snapshots(flink)
        daemon.until(lambda: snapshots_on(flink), "the member's drift fixed", timeout=30)
        fixes = sandbox.call_log.calls(account=member, operation="UpdateApplication")
        by = [c["caller_arn"] for c in fixes]
        assert by[0].endswith(":user/alice")
        assert by[-1].startswith(f"arn:aws:sts::{member}:assumed-role/flink-remediator-member/")
        # The audit record follows the change (its operation followed, its outcome claimed).
        daemon.until(
            lambda: daemon.events("remediation_applied", account=member, app=APP),
            "the member's fix recorded applied",
            timeout=30,
        )
        assert not daemon.events("sweep_finished")[1:]  # from the event, no sweep
    finally:
        daemon.stop()


def test_an_event_claiming_an_unlisted_account_causes_no_aws_call(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    listed = [sandbox.info["account_id"], sandbox.info["accounts"][0]["account_id"]]
    unlisted = sandbox.info["accounts"][2]["account_id"]
    daemon = DaemonProcess(
        sandbox, config(sandbox, tmp_path / "c.yaml", listed), tmp_path / "d.log"
    )
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        sandbox.call_log.clear()
        # Sent by alice: one sent with the daemon's own keys is refused before it is parsed
        # (sent_by_daemon, tests/e2e/test_own_credential_canary.py).
        sqs = sandbox.client("sqs", who="actor")
        sqs.send_message(QueueUrl=sandbox.info["queue_url"], MessageBody=_event(unlisted))
        daemon.wait_for("event_ignored", reason="account_not_configured", timeout=30)
        non_queue = [
            c
            for c in sandbox.call_log.calls()
            if c["service"] != "sqs" and c["operation"] != "SendMessage"
        ]
        assert non_queue == []
        assert not sandbox.call_log.calls(account=unlisted)
    finally:
        daemon.stop()


def _event(account: str) -> str:
    detail = {
        "eventSource": "kinesisanalytics.amazonaws.com",
        "eventName": "UpdateApplication",
        "eventID": str(uuid.uuid4()),
        "awsRegion": "eu-west-1",
        "recipientAccountId": account,
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{account}:user/alice"},
        "requestParameters": {"applicationName": APP},
        "readOnly": False,
    }
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.kinesisanalytics",
            "account": account,
            "region": "eu-west-1",
            "time": "2026-01-01T00:00:00Z",
            "detail": detail,
        }
    )


def test_a_saved_plan_over_several_accounts_applies_in_each_through_its_role(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    member = sandbox.info["accounts"][2]
    flink = member_flink(sandbox, 2)
    disable_snapshots(flink)
    plan = tmp_path / "plan.json"
    conf = str(config(sandbox, tmp_path / "c.yaml"))
    made = subprocess.run(
        [*CLI, "plan", "--config", conf, "--app", APP, "--out", str(plan), "--output", "json"],
        env=env(sandbox),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    roles = json.loads(plan.read_text())["assume_roles"]
    assert roles[member["account_id"]] == {
        "role_arn": member["role_arn"],
        "external_id": sandbox.info["external_id"],
    }
    sandbox.call_log.clear()

    applied = subprocess.run(
        [*CLI, "apply", "--plan-file", str(plan), "--output", "json"],
        env=env(sandbox),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert applied.returncode == 0, applied.stderr
    assert snapshots_on(flink)
    fixes = sandbox.call_log.calls(account=member["account_id"], mutating="true")
    assert [c["operation"] for c in fixes] == ["UpdateApplication"]
    role = f"arn:aws:sts::{member['account_id']}:assumed-role/flink-remediator-member/"
    assert fixes[0]["caller_arn"].startswith(role)
    results = json.loads(applied.stdout)["applications"]
    assert (member["account_id"], "fixed") in {(r["account"], r["result"]) for r in results}
