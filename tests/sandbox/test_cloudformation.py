"""deploy/cloudformation: every template passes cfn-lint, its rules carry exactly the event
patterns in config/eventbridge, and hub + member deploy through the sandbox's CloudFormation
(moto) and carry a member account's event to the hub's queue. moto does not create
AWS::SQS::QueuePolicy or AWS::Events::EventBusPolicy (it skips them): those two are checked by
cfn-lint only (docs/install-eks.md says so)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml  # type: ignore[import-untyped]

from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, execution_role, receive_envelopes

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "deploy" / "cloudformation").glob("*.yaml"))
# The templates that route events to the queue (config-rules.yaml holds AWS Config rules,
# sweep-schedule.yaml a Scheduler schedule; daemon-writes-alarm.yaml has its own alarm rule).
NOT_EVENT_TEMPLATES = ("config-rules.yaml", "daemon-writes-alarm.yaml", "sweep-schedule.yaml")
EVENT_TEMPLATES = [t for t in TEMPLATES if t.name not in NOT_EVENT_TEMPLATES]
PATTERNS = {
    json.dumps(json.loads(p.read_text()), sort_keys=True)
    for p in (ROOT / "config" / "eventbridge").glob("*.json")
}
REGION, MEMBER = "us-east-1", "200000000009"
CLUSTER = "arn:aws:eks:us-east-1:123456789012:cluster/platform"


def test_there_are_the_six_templates() -> None:
    names = [
        "config-rules.yaml",
        "daemon-writes-alarm.yaml",
        "hub.yaml",
        "member.yaml",
        "region-forwarder.yaml",
        "sweep-schedule.yaml",
    ]
    assert [t.name for t in TEMPLATES] == names


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_cfn_lint_passes(template: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(template)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("template", EVENT_TEMPLATES, ids=lambda t: t.name)
def test_every_rule_uses_a_pattern_from_config_eventbridge(template: Path) -> None:
    resources = cfn_yaml.load(str(template))["Resources"]
    rules = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    patterns = {json.dumps(r["Properties"]["EventPattern"], sort_keys=True) for r in rules}
    assert patterns == PATTERNS


def _stack(cf: Any, name: str, template: str, **parameters: str) -> dict[str, str]:
    cf.create_stack(
        StackName=name,
        TemplateBody=(ROOT / "deploy" / "cloudformation" / template).read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _member(sandbox: Sandbox, service: str) -> Any:
    sts = client(sandbox.endpoint_url, REGION, "sts")
    keys = sts.assume_role(
        RoleArn=f"arn:aws:iam::{MEMBER}:role/stackset-execution", RoleSessionName="stackset"
    )["Credentials"]
    credentials = Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    return client(sandbox.endpoint_url, REGION, service, credentials)


def test_hub_and_member_stacks_deliver_a_members_event_to_the_queue(
    fresh_sandbox: Sandbox,
) -> None:
    hub = _stack(
        client(fresh_sandbox.endpoint_url, REGION, "cloudformation"),
        "flink-remediator-hub",
        "hub.yaml",
        MemberAccountIds=MEMBER,
        EksClusterArn=CLUSTER,
    )
    read = {"Effect": "Allow", "Action": "kinesisanalytics:Describe*", "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [read]}
    member = _stack(
        _member(fresh_sandbox, "cloudformation"),
        "flink-remediator-member",
        "member.yaml",
        HubAccountId=fresh_sandbox.account_id,
        ExternalId="ext-123",
        CentralBusArn=hub["CentralBusArn"],
        MemberPolicyDocument=json.dumps(policy),
    )
    assert member["MemberRoleArn"] == f"arn:aws:iam::{MEMBER}:role/flink-remediator-member"
    trust = _member(fresh_sandbox, "iam").get_role(RoleName="flink-remediator-member")["Role"]
    statement = trust["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"AWS": hub["DaemonRoleArn"]}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "ext-123"}}

    flink, iam = _member(fresh_sandbox, "kinesisanalyticsv2"), _member(fresh_sandbox, "iam")
    flink.create_application(
        ApplicationName="via-stacks",
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=execution_role(iam),
    )
    sqs = client(fresh_sandbox.endpoint_url, REGION, "sqs")
    [event] = receive_envelopes(
        sqs,
        hub["QueueUrl"].replace("https://sqs.us-east-1.amazonaws.com", fresh_sandbox.endpoint_url),
        expect=1,
    )
    assert event["account"] == MEMBER
    assert event["detail"]["requestParameters"]["applicationName"] == "via-stacks"


@pytest.mark.parametrize("template", ["hub.yaml", "sweep-schedule.yaml"])
def test_sweep_schedules_send_a_tick_the_daemon_reads(template: str) -> None:
    from daemon.ingest.sweep_messages import Tick, parse

    resources = cfn_yaml.load(str(ROOT / "deploy" / "cloudformation" / template))["Resources"]
    (schedule,) = [r for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    text = schedule["Properties"]["Target"]["Input"]["Fn::Sub"]
    for name in ("${AWS::AccountId}", "${SweptAccountId}"):
        text = text.replace(name, MEMBER)
    for name in ("${AWS::Region}", "${SweptRegion}"):
        text = text.replace(name, REGION)
    assert parse(text) == Tick(MEMBER, REGION)


def test_the_sweep_scheduler_role_may_only_send_to_the_event_queue() -> None:
    resources = cfn_yaml.load(str(ROOT / "deploy" / "cloudformation" / "hub.yaml"))["Resources"]
    (policy,) = resources["SweepSchedulerRole"]["Properties"]["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}


def test_every_checkov_skip_names_its_reason() -> None:
    for template in TEMPLATES:
        for name, resource in cfn_yaml.load(str(template))["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert skip["id"].startswith("CKV_"), (template.name, name)
                assert len(str(skip.get("comment", ""))) > 30, (template.name, name, skip["id"])


CHECKOV = shutil.which("checkov") or os.environ.get("CHECKOV", "")


@pytest.mark.skipif(not CHECKOV, reason="checkov is not installed (pip install checkov)")
def test_checkov_passes() -> None:
    done = subprocess.run(
        [
            CHECKOV,
            "-d",
            str(ROOT / "deploy" / "cloudformation"),
            "--framework",
            "cloudformation",
            "--compact",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert done.returncode == 0, done.stdout


def test_the_hub_stack_creates_the_state_table(fresh_sandbox: Sandbox) -> None:
    hub = _stack(
        client(fresh_sandbox.endpoint_url, REGION, "cloudformation"),
        "flink-remediator-hub",
        "hub.yaml",
        MemberAccountIds=MEMBER,
    )
    dynamodb = client(fresh_sandbox.endpoint_url, REGION, "dynamodb")
    table = dynamodb.describe_table(TableName=hub["StateTableName"])["Table"]
    assert table["TableArn"] == hub["StateTableArn"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    backups = dynamodb.describe_continuous_backups(TableName=hub["StateTableName"])
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"
    ttl = dynamodb.describe_time_to_live(TableName=hub["StateTableName"])
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }
    document = client(fresh_sandbox.endpoint_url, REGION, "iam").get_role_policy(
        RoleName="flink-remediator", PolicyName="flink-remediator-hub"
    )["PolicyDocument"]
    # moto keeps a CloudFormation inline policy as the repr of the template's mapping
    role = ast.literal_eval(document) if isinstance(document, str) else document
    (grant,) = [s for s in role["Statement"] if s and s.get("Sid") == "StateTable"]
    assert grant["Resource"] == hub["StateTableArn"]
    assert sorted(grant["Action"]) == ["dynamodb:BatchGetItem", "dynamodb:PutItem"]
