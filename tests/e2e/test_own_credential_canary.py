"""The own-credential canary (issue 28, item 1), end to end: two `flink-remediator run` replicas
share one state table (the ledger of their writes) against `sandbox serve --demo --enforce-iam`,
holding exactly the generated policy (what the thief does below is what that policy allows).

Someone else uses the daemon's own keys (a boto3 client with them, here in the test): a code
change through UpdateApplication and a trust-policy change adding an outside account are written
by neither replica, so whichever replica receives the CloudTrail event raises the misuse metric,
an `own_write_unexplained` audit record and a CRITICAL Security Hub finding. The daemons' own
ordinary fixes, made before (logging options on the apps, conditions on the execution roles'
trust: UpdateAssumeRolePolicy), raise none (each is found in the ledger: `explained`).

CloudTrail can deliver an event before the ledger entry of its write is stored (the sandbox
delivers at once here, the worst case): the canary looks again after `--own-write-grace-seconds`.
"""

from __future__ import annotations

import functools
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.testing import advance_clock, delay_delivery, pending_deliveries
from tests.e2e.test_enforced_iam_daemon import (
    ROLE_TAG,
    EnforcedSandboxProcess,
    generated_policy,
    sandbox,  # noqa: F401  (the fixture: `sandbox serve --demo --enforce-iam`)
    write_config,
)
from tests.e2e.test_forged_events import calls, forged
from tests.harness import DaemonProcess, wait_until

pytestmark = pytest.mark.e2e

APP = "clickstream-sessionizer"
OUTSIDER = "arn:aws:iam::999999999999:root"
UNEXPLAINED = "flink_remediator_unexplained_own_writes_total"
CHECKED = "flink_remediator_own_writes_checked_total"


@pytest.fixture
def replicas(
    sandbox: EnforcedSandboxProcess,  # noqa: F811  (the imported fixture)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> Iterator[list[DaemonProcess]]:
    iam, flink = sandbox.admin("iam"), sandbox.admin("kinesisanalyticsv2")
    for app in sandbox.info["applications"]:
        role = flink.describe_application(ApplicationName=app)["ApplicationDetail"]
        iam.tag_role(RoleName=role["ServiceExecutionRole"].rsplit("/", 1)[-1], Tags=[ROLE_TAG])
    config = write_config(sandbox, tmp_path / "desired.yaml")  # logging and trust rules
    sandbox.admin("securityhub").enable_security_hub()
    iam.put_user_policy(
        UserName=sandbox.info["principals"]["daemon"]["user_name"],
        PolicyName="generated",
        PolicyDocument=json.dumps(generated_policy(sandbox, config, monkeypatch, capsys)),
    )
    grace = ("--own-write-grace-seconds", "2")
    daemons = [DaemonProcess(sandbox, config, tmp_path / f"r{n}.log", *grace) for n in range(2)]
    yield daemons
    for daemon in daemons:
        daemon.stop(signal.SIGKILL)


def with_daemon_keys(running: EnforcedSandboxProcess, service: str) -> Any:
    """The daemon's own credentials, in someone else's hands (a client of this test)."""
    return running.client(service, who="daemon")


def total(daemons: list[DaemonProcess], name: str, **labels: str) -> float:
    return sum(d.metric(name, **labels) for d in daemons)


def audit_records(daemons: list[DaemonProcess], **fields: Any) -> list[dict[str, Any]]:
    return [r for d in daemons for r in d.events("own_write_unexplained", **fields)]


def canary_findings(running: EnforcedSandboxProcess) -> list[dict[str, Any]]:
    generator = {"Value": "flink-remediator/own-credential-canary", "Comparison": "EQUALS"}
    hub = running.admin("securityhub")
    return list(hub.get_findings(Filters={"GeneratorId": [generator]})["Findings"])


def own_fixes_judged(running: EnforcedSandboxProcess, daemons: list[DaemonProcess]) -> None:
    """Both start-up sweeps done, the daemons' fixes made, and every event of them judged."""
    for daemon in daemons:
        daemon.wait_for("sweep_finished", timeout=90)
    arn = running.info["principals"]["daemon"]["arn"]
    fixes = [c for c in calls(running, caller_arn=arn) if c["emitted"] and not c["error_code"]]
    made = {c["operation"] for c in fixes}
    assert {"AddApplicationCloudWatchLoggingOption", "UpdateAssumeRolePolicy"} <= made, made
    wait_until(
        lambda: total(daemons, CHECKED, result="explained") >= len(fixes),
        60,
        f"the {len(fixes)} own fix events found in the ledger",
    )


def test_writes_with_the_daemons_keys_by_someone_else_are_flagged_on_any_replica(
    sandbox: EnforcedSandboxProcess,  # noqa: F811  (the imported fixture)
    replicas: list[DaemonProcess],
) -> None:
    own_fixes_judged(sandbox, replicas)
    assert total(replicas, UNEXPLAINED) == 0  # the daemons' own fixes raise nothing
    assert audit_records(replicas) == [] and canary_findings(sandbox) == []

    flink = with_daemon_keys(sandbox, "kinesisanalyticsv2")
    detail = flink.describe_application(ApplicationName=APP)["ApplicationDetail"]
    code = flink.update_application(
        ApplicationName=APP,
        CurrentApplicationVersionId=detail["ApplicationVersionId"],
        ApplicationConfigurationUpdate={
            "ApplicationCodeConfigurationUpdate": {
                "CodeContentUpdate": {
                    "S3ContentLocationUpdate": {
                        "BucketARNUpdate": "arn:aws:s3:::attacker-bucket",
                        "FileKeyUpdate": "backdoor.jar",
                    }
                }
            }
        },
    )["ResponseMetadata"]["RequestId"]
    iam = with_daemon_keys(sandbox, "iam")
    role = detail["ServiceExecutionRole"].rsplit("/", 1)[-1]
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    trust["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "sts:AssumeRole"}
    )
    backdoor = iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust))
    trust_request = backdoor["ResponseMetadata"]["RequestId"]

    for event_name, request_id in (
        ("UpdateApplication", code),
        ("UpdateAssumeRolePolicy", trust_request),
    ):
        flagged = functools.partial(audit_records, replicas, request_id=request_id)
        wait_until(flagged, 30, f"the {event_name} by someone else flagged")
        (record,) = audit_records(replicas, request_id=request_id)  # by one replica, once
        assert record["event_name"] == event_name and record["reason"] == "unledgered"
        assert record["source_ip"] and record["user_agent"].startswith("Boto3")
        assert total(replicas, UNEXPLAINED, event_name=event_name, reason="unledgered") == 1
    wait_until(lambda: len(canary_findings(sandbox)) == 2, 30, "two findings imported")
    for finding in canary_findings(sandbox):
        assert finding["Severity"]["Label"] == "CRITICAL"
        fields = finding["ProductFields"]
        assert fields["flink-remediator/RequestId"] in (code, trust_request)
        assert fields["flink-remediator/SourceIPAddress"]
        assert fields["flink-remediator/UserAgent"].startswith("Boto3")


def test_an_envelope_sent_with_the_daemons_keys_is_refused(
    sandbox: EnforcedSandboxProcess,  # noqa: F811  (the imported fixture)
    replicas: list[DaemonProcess],
) -> None:
    """The queue policy lets the daemon role send (queue sweeps), so a thief with its keys can
    put an envelope on the queue; SQS's SenderId names the daemon, which EventBridge never is."""
    for daemon in replicas:
        daemon.wait_for("sweep_finished", timeout=90)
    region = sandbox.info["region"]
    body = forged(sandbox, "aws.kinesisanalytics", "UpdateApplication", region, applicationName=APP)
    sqs = with_daemon_keys(sandbox, "sqs")
    sqs.send_message(QueueUrl=sandbox.info["queue_url"], MessageBody=body)  # the policy admits it
    reason = "sent_by_daemon"
    wait_until(
        lambda: total(replicas, "flink_remediator_events_ignored_total", reason=reason) == 1,
        30,
        "the envelope refused by its SenderId",
    )
    (rejected,) = [r for d in replicas for r in d.events("message_rejected", reason=reason)]
    iam = sandbox.admin("iam")
    assert rejected["sender_id"] == iam.get_user(UserName="flink-remediator")["User"]["UserId"]
    event_id = json.loads(body)["detail"]["eventID"]
    assert not [r for d in replicas for r in d.records() if r.get("event_id") == event_id]


def test_a_write_delivered_one_delay_late_is_flagged_once_it_arrives(
    sandbox: EnforcedSandboxProcess,  # noqa: F811  (the imported fixture)
    replicas: list[DaemonProcess],
) -> None:
    """CloudTrail delivers late (here 120 s on the sandbox clock): the canary flags the write
    when its event arrives, not before, and never by wall-clock waiting on the delay."""
    own_fixes_judged(sandbox, replicas)
    url = sandbox.info["endpoint_url"]
    delay_delivery(url, delay_seconds=120)
    flink = with_daemon_keys(sandbox, "kinesisanalyticsv2")
    version = flink.describe_application(ApplicationName=APP)["ApplicationDetail"][
        "ApplicationVersionId"
    ]
    request_id = flink.update_application(
        ApplicationName=APP,
        CurrentApplicationVersionId=version,
        ApplicationConfigurationUpdate={
            "EnvironmentPropertyUpdates": {
                "PropertyGroups": [{"PropertyGroupId": "x", "PropertyMap": {"k": "v"}}]
            }
        },
    )["ResponseMetadata"]["RequestId"]
    assert [p for p in pending_deliveries(url) if p["event_name"] == "UpdateApplication"]
    assert audit_records(replicas, request_id=request_id) == []  # nothing arrived yet
    advance_clock(url, 120)
    flagged = functools.partial(audit_records, replicas, request_id=request_id)
    wait_until(flagged, 30, "the late UpdateApplication flagged once delivered")
    assert total(replicas, UNEXPLAINED, event_name="UpdateApplication") == 1
