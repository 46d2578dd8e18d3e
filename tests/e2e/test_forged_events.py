"""Events are hints: a forged message that claims drift the real state does not have costs the
daemon reads, never a write (judged by the sandbox's own record of calls)."""

from __future__ import annotations

import json
import signal
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.configs import write_config
from tests.harness import DaemonProcess, SandboxProcess, wait_until

pytestmark = pytest.mark.e2e
APP = "payments-enricher"  # compliant in the demo account
OUTSIDER = "arn:aws:iam::999999999999:root"


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    running = SandboxProcess()
    yield running
    running.stop()


def calls(sandbox: SandboxProcess, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    url = f"{sandbox.info['endpoint_url']}/_sandbox/calls?{query}"
    with urllib.request.urlopen(url, timeout=10) as response:
        found: list[dict[str, Any]] = json.load(response)["calls"]
    return found


def clear_calls(sandbox: SandboxProcess) -> None:
    url = f"{sandbox.info['endpoint_url']}/_sandbox/calls/clear"
    urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10)


def forged(sandbox: SandboxProcess, source: str, name: str, region: str, **params: Any) -> str:
    """An envelope as EventBridge delivers it, whose body claims a change that never happened."""
    info, now = sandbox.info, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    service = source.removeprefix("aws.")
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "AWS API Call via CloudTrail",
            "source": source,
            "account": info["account_id"],
            "time": now,
            "region": region,
            "resources": [],
            "detail": {
                "eventVersion": "1.09",
                "userIdentity": {"type": "IAMUser", "arn": info["principals"]["actor"]["arn"]},
                "eventTime": now,
                "eventSource": f"{service}.amazonaws.com",
                "eventName": name,
                "awsRegion": region,
                "requestParameters": params,
                "eventID": str(uuid.uuid4()),
                "eventType": "AwsApiCall",
                "readOnly": False,
                "recipientAccountId": info["account_id"],
            },
        }
    )


def test_a_forged_event_costs_reads_but_never_a_write(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "desired.yaml", enabled=("cloudwatch_logging", "execution_role_trust")
    )
    daemon = DaemonProcess(sandbox, config, tmp_path / "daemon.log")
    try:
        daemon.wait_for("sweep_finished", timeout=120)  # the demo's real drift is fixed first
        flink = sandbox.client("kinesisanalyticsv2")
        detail = flink.describe_application(ApplicationName=APP)["ApplicationDetail"]
        role = detail["ServiceExecutionRole"].rsplit("/", 1)[-1]
        before = len(daemon.events("reconcile_finished", app=APP))
        clear_calls(sandbox)
        trust_outsider = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "sts:AssumeRole"}
            ],
        }
        bodies = [
            forged(
                sandbox,
                "aws.kinesisanalytics",
                "DeleteApplicationCloudWatchLoggingOption",
                sandbox.info["region"],
                applicationName=APP,
                currentApplicationVersionId=detail["ApplicationVersionId"],
                cloudWatchLoggingOptionId="1.1",
            ),
            forged(
                sandbox,
                "aws.iam",
                "UpdateAssumeRolePolicy",
                "us-east-1",
                roleName=role,
                policyDocument=json.dumps(trust_outsider),
            ),
        ]
        sqs = sandbox.client("sqs")
        for body in bodies:
            sqs.send_message(QueueUrl=sandbox.info["queue_url"], MessageBody=body)
        wait_until(
            lambda: len(daemon.events("reconcile_finished", app=APP)) >= before + 1,
            60,
            "a reconcile of the application the forged events name",
        )
        wait_until(
            lambda: (
                not int(
                    sqs.get_queue_attributes(
                        QueueUrl=sandbox.info["queue_url"],
                        AttributeNames=["ApproximateNumberOfMessagesNotVisible"],
                    )["Attributes"]["ApproximateNumberOfMessagesNotVisible"]
                )
            ),
            60,
            "both forged messages to be handled",
        )
    finally:
        daemon.stop(signal.SIGTERM)
    arn = sandbox.info["principals"]["daemon"]["arn"]
    made = calls(sandbox, caller_arn=arn)
    reads = {(c["service"], c["operation"]) for c in made if not c["mutating"]}
    assert ("kinesisanalytics", "DescribeApplication") in reads  # the claim was checked...
    assert ("iam", "GetRole") in reads
    writes = [c for c in made if c["mutating"] and c["service"] != "sqs"]
    assert writes == []  # ...and the real state justified no write


def test_forged_envelopes_are_rejected_counted_and_logged(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """Someone with sqs:SendMessage (past the queue policy) writes messages EventBridge never
    delivers: a detail naming another account than the envelope, a bare CloudTrail record, an
    IAM record under an EC2 source. Each is rejected before any read, counted by reason and
    logged; none causes a reconcile."""
    config = write_config(tmp_path / "desired.yaml", enabled=("cloudwatch_logging",))
    daemon = DaemonProcess(sandbox, config, tmp_path / "daemon.log")
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        flink = sandbox.client("kinesisanalyticsv2")
        version = flink.describe_application(ApplicationName=APP)["ApplicationDetail"][
            "ApplicationVersionId"
        ]
        region = sandbox.info["region"]
        claim = {"applicationName": APP, "currentApplicationVersionId": version}
        name = "DeleteApplicationCloudWatchLoggingOption"
        other_account = json.loads(forged(sandbox, "aws.kinesisanalytics", name, region, **claim))
        other_account["detail"]["recipientAccountId"] = "999999999999"
        bare = json.loads(forged(sandbox, "aws.kinesisanalytics", name, region, **claim))["detail"]
        wrong_source = json.loads(forged(sandbox, "aws.kinesisanalytics", name, region, **claim))
        wrong_source["source"] = "aws.ec2"
        before = len(daemon.events("reconcile_finished", app=APP))
        clear_calls(sandbox)
        sqs = sandbox.client("sqs")
        for body in (other_account, bare, wrong_source):
            sqs.send_message(QueueUrl=sandbox.info["queue_url"], MessageBody=json.dumps(body))
        reasons = ("account_mismatch", "bare_record", "source_mismatch")
        wait_until(
            lambda: all(
                daemon.metric("flink_remediator_events_ignored_total", reason=r) >= 1
                for r in reasons
            ),
            60,
            "the three forged messages counted by reason",
        )
        logged = {e.get("reason") for e in daemon.events("event_rejected")}
        assert set(reasons) <= logged
        assert len(daemon.events("reconcile_finished", app=APP)) == before
    finally:
        daemon.stop(signal.SIGTERM)
    arn = sandbox.info["principals"]["daemon"]["arn"]
    made = calls(sandbox, caller_arn=arn)
    # Nothing was read for them: the rejection comes before any AWS call about the claim.
    assert not [c for c in made if c["service"] == "kinesisanalytics"]
