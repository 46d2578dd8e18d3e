"""deploy/cloudformation/daemon-writes-alarm.yaml in the sandbox's CloudFormation (moto): its
rule matches an UpdateApplication by the daemon's role that carries what no fix sends
(environment properties, another role, code from elsewhere, another key, an AWS owned key),
and not the daemon's own fixes, nor the same change by someone else (the trust and event
rules see those)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml  # type: ignore[import-untyped]

from sandbox.eventbridge import routes
from sandbox.server import Sandbox
from sandbox.testing import client

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
KEY = "arn:aws:kms:us-east-1:123456789012:key/fix-key"
BUCKET = "arn:aws:s3:::pinned-code"


def event(account: str, issuer: str, update: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e1",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.kinesisanalytics",
        "account": account,
        "time": "2026-12-06T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventSource": "kinesisanalytics.amazonaws.com",
            "eventName": "UpdateApplication",
            "userIdentity": {
                "type": "AssumedRole",
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": issuer}},
            },
            "requestParameters": {"applicationName": "orders", **update},
        },
    }


def config_update(**section: Any) -> dict[str, Any]:
    return {"applicationConfigurationUpdate": section}


FIXES = [  # what the daemon's own rules send
    config_update(
        applicationEncryptionConfigurationUpdate={
            "keyTypeUpdate": "CUSTOMER_MANAGED_KEY",
            "keyIdUpdate": KEY,
        }
    ),
    config_update(
        applicationCodeConfigurationUpdate={
            "codeContentUpdate": {
                "s3ContentLocationUpdate": {"bucketARNUpdate": BUCKET, "fileKeyUpdate": "app.jar"}
            }
        }
    ),
    config_update(applicationSnapshotConfigurationUpdate={"snapshotsEnabledUpdate": True}),
]
# Environment properties come as a list of groups: EventBridge matches fields of objects in
# arrays, moto's matcher does not descend into them, so that branch is checked on the template
# below rather than matched here.
MISUSE = [
    {"serviceExecutionRoleUpdate": "arn:aws:iam::123456789012:role/admin"},
    config_update(
        applicationCodeConfigurationUpdate={
            "codeContentUpdate": {"s3ContentLocationUpdate": {"bucketARNUpdate": "arn:aws:s3:::x"}}
        }
    ),
    config_update(
        applicationCodeConfigurationUpdate={"codeContentUpdate": {"zipFileContentUpdate": "UEsD"}}
    ),
    config_update(
        applicationEncryptionConfigurationUpdate={
            "keyTypeUpdate": "CUSTOMER_MANAGED_KEY",
            "keyIdUpdate": "arn:aws:kms:us-east-1:999999999999:key/theirs",
        }
    ),
    config_update(applicationEncryptionConfigurationUpdate={"keyTypeUpdate": "AWS_OWNED_KEY"}),
]


@pytest.fixture
def stack(fresh_sandbox: Sandbox) -> str:
    topic = client(fresh_sandbox.endpoint_url, REGION, "sns").create_topic(Name="page")
    role = f"arn:aws:iam::{fresh_sandbox.account_id}:role/flink-remediator-member"
    cf = client(fresh_sandbox.endpoint_url, REGION, "cloudformation")
    parameters = {
        "DaemonRoleArn": role,
        "AlarmTopicArn": topic["TopicArn"],
        "FixKeyArn": KEY,
        "CodeBucketArns": BUCKET,
    }
    cf.create_stack(
        StackName="alarm",
        TemplateBody=(ROOT / "deploy" / "cloudformation" / "daemon-writes-alarm.yaml").read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    status = cf.describe_stacks(StackName="alarm")["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE"
    return role


def matched(sandbox: Sandbox, issuer: str, update: dict[str, Any]) -> bool:
    return bool(
        routes(event(sandbox.account_id, issuer, copy.deepcopy(update)), sandbox.account_id, REGION)
    )


def test_only_what_no_fix_sends_by_the_daemons_role_alarms(
    fresh_sandbox: Sandbox, stack: str
) -> None:
    assert [matched(fresh_sandbox, stack, u) for u in MISUSE] == [True] * len(MISUSE)
    assert [matched(fresh_sandbox, stack, u) for u in FIXES] == [False] * len(FIXES)
    someone = f"arn:aws:iam::{fresh_sandbox.account_id}:role/platform-admin"
    assert not any(matched(fresh_sandbox, someone, u) for u in MISUSE)


def test_the_alarm_counts_the_rules_matches() -> None:
    # moto's CloudFormation skips AWS::CloudWatch::Alarm: read the template (cfn-lint checks it).
    resources = cfn_yaml.load(str(ROOT / "deploy/cloudformation/daemon-writes-alarm.yaml"))[
        "Resources"
    ]
    alarm = resources["UnexpectedDaemonUpdateAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "TriggeredRules")
    assert alarm["Dimensions"] == [
        {"Name": "RuleName", "Value": {"Ref": "UnexpectedDaemonUpdateRule"}}
    ]
    assert alarm["Threshold"] == 1 and alarm["TreatMissingData"] == "notBreaching"
    branches = resources["UnexpectedDaemonUpdateRule"]["Properties"]["EventPattern"]["detail"][
        "$or"
    ]
    env = {"propertyGroups": {"propertyGroupId": [{"exists": True}]}}
    assert {
        "requestParameters": {"applicationConfigurationUpdate": {"environmentPropertyUpdates": env}}
    } in branches
