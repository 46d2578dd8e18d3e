"""`flink-remediator run` as its own process against `sandbox serve --demo --enforce-iam`, its
user holding exactly what `iam-policy --queue-url` prints: the sweep fixes the demo's drift
(application and trust policy), an actor's change comes through CloudTrail -> EventBridge -> SQS
and is fixed, the DLQ (found from the RedrivePolicy) is watched, Security Hub findings are
imported, and no call is refused."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from daemon.cli import main
from remediations import RULES
from tests.e2e.test_forged_events import calls
from tests.harness import CLI, DaemonProcess, SandboxProcess, free_port, wait_until

pytestmark = pytest.mark.e2e
APP = "payments-enricher"
ROLE_TAG = {"Key": "flink-remediator/execution-role", "Value": "true"}


class EnforcedSandboxProcess(SandboxProcess):
    def __init__(self) -> None:  # the harness's, with --enforce-iam
        self.process = subprocess.Popen(
            [*CLI, "sandbox", "serve", "--demo", "--enforce-iam", "--port", str(free_port())],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.info: dict[str, Any] = json.loads(self.process.stdout.readline())

    def admin(self, service: str) -> Any:
        keys = self.info["admin"]
        return boto3.client(
            service,
            endpoint_url=self.info["endpoint_url"],
            region_name=self.info["region"],
            aws_access_key_id=keys["aws_access_key_id"],
            aws_secret_access_key=keys["aws_secret_access_key"],
        )


@pytest.fixture
def sandbox() -> Iterator[EnforcedSandboxProcess]:
    running = EnforcedSandboxProcess()
    yield running
    running.stop()


def write_config(sandbox: SandboxProcess, path: Path) -> Path:
    account = sandbox.info["account_id"]
    enabled = ("cloudwatch_logging", "execution_role_trust")
    doc = {
        "version": 1,
        "accounts": [account],
        "regions": [sandbox.info["region"]],
        "defaults": {"mode": "enforce"},
        "execution_roles": {
            "path": "/flink/",
            "tag": {"key": ROLE_TAG["Key"], "value": ROLE_TAG["Value"]},
        },
        "daemon_role_arn": f"arn:aws:iam::{account}:role/flink-remediator",
        "rules": {rule: {"enabled": rule in enabled} for rule in RULES},
        # Findings are sent at stop, so the policy must grant the import too.
        "evidence": {"security_hub": {"enabled": True}},
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def generated_policy(
    sandbox: EnforcedSandboxProcess, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> dict[str, Any]:
    keys = sandbox.info["admin"]
    with monkeypatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", sandbox.info["endpoint_url"])
        env.setenv("AWS_REGION", sandbox.info["region"])
        env.setenv("AWS_ACCESS_KEY_ID", keys["aws_access_key_id"])
        env.setenv("AWS_SECRET_ACCESS_KEY", keys["aws_secret_access_key"])
        capsys.readouterr()
        argv = ["iam-policy", "--config", str(config), "--queue-url", sandbox.info["queue_url"]]
        argv += ["--state-table-arn", sandbox.info["state_table_arn"]]
        assert main(argv) == 0, capsys.readouterr().err
        policy: dict[str, Any] = json.loads(capsys.readouterr().out)
    return policy


def trust_has_conditions(iam: Any, role: str) -> bool:
    document = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    return all("Condition" in s for s in document["Statement"])


def test_the_daemon_runs_with_exactly_the_generated_policy(
    sandbox: EnforcedSandboxProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    iam, flink = sandbox.admin("iam"), sandbox.admin("kinesisanalyticsv2")
    roles = {
        flink.describe_application(ApplicationName=a)["ApplicationDetail"]["ServiceExecutionRole"]
        for a in sandbox.info["applications"]
    }
    for arn in roles:
        iam.tag_role(RoleName=arn.rsplit("/", 1)[-1], Tags=[ROLE_TAG])
    config = write_config(sandbox, tmp_path / "desired.yaml")
    sandbox.admin("securityhub").enable_security_hub()
    policy = generated_policy(sandbox, config, monkeypatch, capsys)
    dlq_arn = sandbox.admin("sqs").get_queue_attributes(
        QueueUrl=sandbox.info["dlq_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert any(dlq_arn in s["Resource"] for s in policy["Statement"])
    daemon_user = sandbox.info["principals"]["daemon"]
    iam.put_user_policy(
        UserName=daemon_user["user_name"],
        PolicyName="generated",
        PolicyDocument=json.dumps(policy),
    )
    app_role = flink.describe_application(ApplicationName=APP)["ApplicationDetail"][
        "ServiceExecutionRole"
    ].rsplit("/", 1)[-1]

    daemon = DaemonProcess(sandbox, config, tmp_path / "daemon.log")
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        assert trust_has_conditions(iam, app_role)  # the sweep fixed the demo's trust policy
        # The state table answers with exactly the generated grants (evaluated on its ARN).
        assert daemon.metric("flink_remediator_state_store_up") == 1
        assert not daemon.events("state_store_unavailable")

        current = flink.describe_application(ApplicationName=APP)["ApplicationDetail"]
        for option in current.get("CloudWatchLoggingOptionDescriptions", []):
            flink.delete_application_cloud_watch_logging_option(
                ApplicationName=APP,
                CurrentApplicationVersionId=current["ApplicationVersionId"],
                CloudWatchLoggingOptionId=option["CloudWatchLoggingOptionId"],
            )
        wait_until(
            lambda: flink.describe_application(ApplicationName=APP)["ApplicationDetail"].get(
                "CloudWatchLoggingOptionDescriptions"
            ),
            30,
            "the daemon to restore the logging option from the event",
        )
        audit = daemon.wait_for("remediation_applied", app=APP, trigger="event")
        assert audit["rule"] == "cloudwatch_logging"
        wait_until(
            lambda: (
                daemon.metric("flink_remediator_queue_messages", queue="dlq") == 0
                and ("sqs", "GetQueueUrl") in _made(sandbox)
            ),
            30,
            "the DLQ depth gauge (DLQ found from the RedrivePolicy)",
        )
    finally:
        assert daemon.stop(signal.SIGTERM) == 0
    made = calls(sandbox, caller_arn=daemon_user["arn"])
    assert [c for c in made if c["error_code"]] == [], json.dumps(made)
    operations = {(c["service"], c["operation"]) for c in made}
    assert {
        ("sqs", "ReceiveMessage"),
        ("sqs", "DeleteMessageBatch"),  # authorized as sqs:DeleteMessage
        ("iam", "UpdateAssumeRolePolicy"),
        ("kinesisanalytics", "AddApplicationCloudWatchLoggingOption"),
        ("securityhub", "BatchImportFindings"),
    } <= operations


def _made(sandbox: SandboxProcess) -> set[tuple[str, str]]:
    arn = sandbox.info["principals"]["daemon"]["arn"]
    return {(c["service"], c["operation"]) for c in calls(sandbox, caller_arn=arn)}
