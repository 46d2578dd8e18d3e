"""The pure parts of the AWS Config rules: the invocation event, freshness of a daemon finding,
annotations within Config's 256 characters that keep the actor, and the template's rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml  # type: ignore[import-untyped]

from daemon.evidence.config_rule import (
    ANNOTATION_MAX,
    fresh,
    from_check,
    from_finding,
    parse_invocation,
)
from remediations import RULES

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "cloudformation" / "config-rules.yaml"


def event(invoking: dict[str, object]) -> dict[str, object]:
    return {
        "invokingEvent": json.dumps(invoking),
        "ruleParameters": json.dumps({"rule": "snapshots"}),
        "resultToken": "t",
        "accountId": "123456789012",
    }


def test_a_change_names_its_application_and_a_deletion_is_not_evaluated() -> None:
    item = {
        "resourceType": "AWS::KinesisAnalyticsV2::Application",
        "resourceName": "orders",
        "configurationItemStatus": "OK",
        "configurationItemCaptureTime": "2026-12-06T11:59:00.000Z",
    }
    change = parse_invocation(
        event({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item})
    )
    assert (change.rule, change.apps, change.deleted) == ("snapshots", ("orders",), ())
    assert change.ordering == datetime(2026, 12, 6, 11, 59, tzinfo=UTC)
    gone = {**item, "configurationItemStatus": "ResourceDeleted"}
    deleted = parse_invocation(
        event({"messageType": "ConfigurationItemChangeNotification", "configurationItem": gone})
    )
    assert (deleted.apps, deleted.deleted) == ((), ("orders",))
    periodic = parse_invocation(event({"messageType": "ScheduledNotification"}))
    assert periodic.apps is None
    with pytest.raises(ValueError, match=r"ruleParameters\.rule"):
        parse_invocation({"invokingEvent": "{}", "resultToken": "t"})


def test_a_finding_is_fresh_only_within_max_age_and_after_the_last_update() -> None:
    finding = {"UpdatedAt": "2026-12-06T11:30:00.000Z"}
    assert fresh(finding, NOW, 3600, NOW - timedelta(hours=1))
    assert not fresh(finding, NOW, 600, None)  # too old
    assert not fresh(finding, NOW, 3600, NOW - timedelta(minutes=5))  # changed since
    assert not fresh(None, NOW, 3600, None)


def test_annotations_fit_config_and_keep_the_actor() -> None:
    actor = "arn:aws:iam::123456789012:user/alice"
    finding = {
        "Compliance": {"Status": "FAILED"},
        "FirstObservedAt": "2026-12-06T11:00:00.000Z",
        "ProductFields": {
            "flink-remediator/DriftBy": actor,
            "flink-remediator/Changes": "x: " + "y" * 2000,
        },
    }
    evaluation = from_finding("orders", "snapshots", finding)
    api = evaluation.as_api(NOW)
    assert evaluation.compliance == "NON_COMPLIANT"
    assert len(api["Annotation"]) <= ANNOTATION_MAX and actor in api["Annotation"]
    checked = from_check("orders", "snapshots", True, "z" * 1000, "")
    assert "unknown" in checked.as_api(NOW)["Annotation"]
    assert from_check("orders", "snapshots", False, "", "").compliance == "COMPLIANT"


def test_the_template_has_one_config_rule_per_registered_rule() -> None:
    resources = cfn_yaml.load(str(TEMPLATE))["Resources"]
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Config::ConfigRule"]
    assert sorted(r["InputParameters"]["rule"] for r in rules) == sorted(RULES)
    assert all(
        r["ConfigRuleName"] == f"flink-remediator-{r['InputParameters']['rule']}" for r in rules
    )
    handler = resources["Function"]["Properties"]["Handler"]
    assert handler == "daemon.commands.config_rule.handler"
