"""log_protection: the key-policy check, check and fix, and on the sandbox: a log group without
the key and retention is fixed; a key whose policy does not admit CloudWatch Logs for the group
is alerted with the reason and no call is made (the sandbox refuses such an AssociateKmsKey, as
AWS does)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from daemon.state import AppRef
from remediations.grants import MANAGED_LOG_GROUP_TAG
from remediations.log_protection import LogGroupState, LogProtection, Settings, key_problem
from sandbox.server import Sandbox
from tests.contract.harness import Harness, Rules
from tests.contract.scenarios import Scenario
from tests.factories import APP, flink_detail, observed

RULE = LogProtection()
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GROUP_ARN = f"arn:aws:logs:us-east-1:{APP.account}:log-group:/aws/kinesis-analytics/orders"


def logs_statement(region: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": [
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
        ],
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


def policy(*statements: dict[str, Any]) -> str:
    admin = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [admin, *statements]})


def context(operator: str, value: str) -> dict[str, Any]:
    return {operator: {"kms:EncryptionContext:aws:logs:arn": value}}


@pytest.mark.parametrize(
    ("state", "document", "ok"),
    [
        ("Enabled", policy(logs_statement("us-east-1")), True),
        (
            "Enabled",
            policy(logs_statement("us-east-1", context("ArnLike", GROUP_ARN[:-6] + "*"))),
            True,
        ),
        ("Enabled", policy(logs_statement("us-east-1", context("ArnEquals", GROUP_ARN))), True),
        (
            "Enabled",
            policy(logs_statement("us-east-1", context("ArnEquals", GROUP_ARN + "x"))),
            False,
        ),
        ("Enabled", policy(logs_statement("eu-west-1")), False),  # another Region's principal
        ("Enabled", policy(), False),  # the service is not in the key policy at all
        ("Disabled", policy(logs_statement("us-east-1")), False),
    ],
)
def test_key_problem_follows_the_documented_key_policy(state: str, document: str, ok: bool) -> None:
    assert (key_problem(state, document, "us-east-1", GROUP_ARN) == "") is ok


def state(facts: LogGroupState) -> Any:
    return observed(flink_detail(), {RULE.id: facts})


def test_drift_and_fix_for_key_and_retention() -> None:
    settings = Settings(kms_key_arn=KEY, retention_days=90)
    assert RULE.check(settings, state(LogGroupState(True, KEY, 90))) == ()
    assert RULE.check(settings, state(LogGroupState(exists=False))) == ()  # cloudwatch_logging's
    drifts = RULE.check(settings, state(LogGroupState(True, None, None)))
    assert [(d.field, d.current, d.desired) for d in drifts] == [
        ("LogGroup.kmsKeyId", None, KEY),
        ("LogGroup.retentionInDays", None, 90),
    ]
    calls = RULE.fix(settings, state(LogGroupState(True, None, None)), drifts)
    assert [(c.operation, c.resource) for c in calls] == [
        ("AssociateKmsKey", GROUP_ARN),
        ("PutRetentionPolicy", GROUP_ARN),
    ]


def test_an_unusable_key_is_reported_not_fixed() -> None:
    settings = Settings(kms_key_arn=KEY, retention_days=None)
    facts = LogGroupState(True, None, None, "the key is Disabled")
    (drift,) = RULE.check(settings, state(facts))
    assert not drift.fixable and "the key is Disabled" in drift.message
    assert RULE.fix(settings, state(facts), (drift,)) == ()


def test_settings_refuse_an_alias_and_odd_retention() -> None:
    with pytest.raises(ValidationError, match="key's ARN"):
        Settings(kms_key_arn="alias/logs")
    with pytest.raises(ValidationError, match="must be one of"):
        Settings(retention_days=42)


# ---- on the sandbox ---------------------------------------------------------------------------


def logs_key(h: Harness, *statements: dict[str, Any]) -> str:
    kms = h.client("kms")
    document = policy(*(statements or (logs_statement(h.sandbox.region),)))
    return str(kms.create_key(Policy=document)["KeyMetadata"]["Arn"])


def with_group(key: bool, retention: bool) -> Any:
    def build(h: Harness, settings: Settings, name: str) -> AppRef:
        group, _ = settings.group(h.app(name))
        logs = h.client("logs")
        # Tagged by its owner: the daemon may set retention only on groups carrying the tag.
        logs.create_log_group(logGroupName=group, tags=dict([MANAGED_LOG_GROUP_TAG]))
        if key:
            logs.associate_kms_key(logGroupName=group, kmsKeyId=settings.kms_key_arn)
        if retention:
            logs.put_retention_policy(logGroupName=group, retentionInDays=settings.retention_days)
        return h.create_app(name)

    return build


def test_sandbox_refuses_a_key_the_policy_does_not_admit(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    logs = h.client("logs")
    logs.create_log_group(logGroupName="g")
    with pytest.raises(ClientError) as refused:
        logs.associate_kms_key(
            logGroupName="g", kmsKeyId=logs_key(h, {"Sid": "none", **logs_statement("us-west-2")})
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    good = logs_key(h)
    logs.associate_kms_key(logGroupName="g", kmsKeyId=good)
    assert logs.describe_log_groups(logGroupNamePrefix="g")["logGroups"][0]["kmsKeyId"] == good
    logs.disassociate_kms_key(logGroupName="g")
    assert "kmsKeyId" not in logs.describe_log_groups(logGroupNamePrefix="g")["logGroups"][0]


def test_sandbox_key_without_the_service_is_alerted_and_nothing_is_called(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    wrong = logs_key(h, logs_statement(h.sandbox.region, context("ArnEquals", "arn:aws:logs:x")))
    settings = Settings(kms_key_arn=wrong, retention_days=None)
    app = with_group(key=False, retention=False)(h, settings, "orders")
    h.clear_calls()
    rules: Rules = [(RULE, settings, "enforce")]
    result = h.reconcile(app, rules)
    assert result.result == "drift"
    assert h.mutating_calls() == []
    (drift,) = h.drifts(app, rules)
    assert not drift.fixable and "does not allow logs." in drift.message


SCENARIO = Scenario(
    lambda h: Settings(kms_key_arn=logs_key(h), retention_days=90),
    with_group(key=True, retention=True),
    with_group(key=False, retention=False),
)
