"""The daemon against what deploy/cloudformation created: hub.yaml and member.yaml deployed
into the sandbox's CloudFormation (moto), then `flink-remediator run` with the hub's queue and
the member role from the stacks' outputs. An outsider's drift in the member account travels
member rule -> central bus -> queue and is fixed through the member role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, execution_role
from tests.e2e.configs import write_config
from tests.harness import CallLog, DaemonProcess, Target

pytestmark = pytest.mark.e2e
REGION, MEMBER, APP = "us-east-1", "200000000042", "stacked"
TEMPLATES = Path(__file__).resolve().parents[2] / "deploy" / "cloudformation"


def _stack(cf: Any, template: str, **parameters: str) -> dict[str, str]:
    name = template.removesuffix(".yaml")
    cf.create_stack(
        StackName=name,
        TemplateBody=(TEMPLATES / template).read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _in_member(sandbox: Sandbox, service: str) -> Any:
    keys = client(sandbox.endpoint_url, REGION, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{MEMBER}:role/platform-admin", RoleSessionName="outsider"
    )["Credentials"]
    who = Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    return client(sandbox.endpoint_url, REGION, service, who)


def _snapshots(flink: Any) -> tuple[str, bool]:
    detail = flink.describe_application(ApplicationName=APP)["ApplicationDetail"]
    config = detail["ApplicationConfigurationDescription"]
    return detail["ApplicationStatus"], bool(
        config["ApplicationSnapshotConfigurationDescription"]["SnapshotsEnabled"]
    )


def test_the_daemon_fixes_a_member_drift_through_the_stacks(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    hub = _stack(
        client(fresh_sandbox.endpoint_url, REGION, "cloudformation"),
        "hub.yaml",
        MemberAccountIds=MEMBER,
        EksClusterArn=f"arn:aws:eks:{REGION}:{fresh_sandbox.account_id}:cluster/platform",
    )
    grant = {"Effect": "Allow", "Action": "kinesisanalytics:*", "Resource": "*"}
    member = _stack(
        _in_member(fresh_sandbox, "cloudformation"),
        "member.yaml",
        HubAccountId=fresh_sandbox.account_id,
        ExternalId="ext-42",
        CentralBusArn=hub["CentralBusArn"],
        MemberPolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [grant]}),
    )
    flink = _in_member(fresh_sandbox, "kinesisanalyticsv2")
    flink.create_application(
        ApplicationName=APP,
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=execution_role(_in_member(fresh_sandbox, "iam")),
        ApplicationConfiguration={"ApplicationSnapshotConfiguration": {"SnapshotsEnabled": True}},
    )
    config = write_config(tmp_path / "c.yaml", enabled=("snapshots",), regions=(REGION,))
    doc = yaml.safe_load(config.read_text())
    doc.update(
        accounts=[MEMBER],  # the hub runs no applications: its own account is not listed
        assume_role=member["MemberRoleArn"].replace(MEMBER, "{account}"),
        external_id="ext-42",
    )
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    queue_url = hub["QueueUrl"].replace(
        f"https://sqs.{REGION}.amazonaws.com", fresh_sandbox.endpoint_url
    )
    target = Target(
        fresh_sandbox.endpoint_url, REGION, queue_url, Credentials("testing", "testing")
    )
    daemon = DaemonProcess(target, config, tmp_path / "d.log")
    try:
        daemon.wait_for("sweep_finished", timeout=60)
        calls = CallLog(fresh_sandbox.endpoint_url)
        calls.clear()
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
        daemon.until(lambda: _snapshots(flink) == ("READY", True), "the drift fixed", 30)
        fixes = calls.calls(account=MEMBER, operation="UpdateApplication")
        assert [c["caller_arn"].split("/")[1] for c in fixes] == [
            "platform-admin",
            "flink-remediator-member",
        ]
        # The audit record follows the change (its operation followed, its outcome claimed).
        daemon.until(
            lambda: daemon.events("remediation_applied", account=MEMBER, app=APP),
            "the fix recorded applied",
            30,
        )
    finally:
        daemon.stop()
