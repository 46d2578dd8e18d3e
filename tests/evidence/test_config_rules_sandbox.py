"""AWS Config custom rules against the sandbox: the rule's Lambda handler (run by the sandbox
as Lambda would) answers from the daemon's Security Hub finding when fresh, else from the rules'
own check; evaluations read back with GetComplianceDetailsByConfigRule, as an auditor would."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from daemon.aws import AwsByRegion
from daemon.desired.loader import load_config
from daemon.evidence.config_rule import config_rule_name
from daemon.evidence.securityhub import publisher_for
from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.rules import resolver_for
from daemon.state import AppRef
from sandbox.config_demo import deploy_config_rules
from sandbox.server import Sandbox
from sandbox.testing import Credentials, client
from tests.evidence.test_securityhub_sandbox import APP, evidence_config, outsider_cause


def evaluate(sandbox: Sandbox, *rules: str, application: str | None = None) -> list[Any]:
    body: dict[str, Any] = {"rules": [config_rule_name(r) for r in rules]}
    if application:
        body["application"] = application
    request = urllib.request.Request(
        f"{sandbox.endpoint_url}/_sandbox/config/evaluate",
        data=json.dumps(body).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=600) as answer:
        return list(json.load(answer)["result"])


def compliance(config_client: Any, rule: str) -> dict[str, tuple[str, str]]:
    """Application name -> (ComplianceType, Annotation) of the rule's stored evaluations."""
    results = config_client.get_compliance_details_by_config_rule(
        ConfigRuleName=config_rule_name(rule)
    )["EvaluationResults"]
    return {
        r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"]: (
            r["ComplianceType"],
            r.get("Annotation", ""),
        )
        for r in results
    }


def deploy(aws: Any, config: Path) -> list[str]:
    return deploy_config_rules(lambda service: aws(service), config)


def test_drift_is_non_compliant_with_its_actor_and_the_fix_compliant(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, aws: Any
) -> None:
    region, account = fresh_sandbox.region, fresh_sandbox.account_id
    aws("securityhub").enable_security_hub()
    config_path = evidence_config(tmp_path / "c.yaml", region)
    deploy(aws, config_path)
    config_client = aws("config")
    evaluate(fresh_sandbox, "cloudwatch_logging")
    assert compliance(config_client, "cloudwatch_logging")[APP][0] == "COMPLIANT"

    alice = demo["principals"]["actor"]
    flink = client(
        fresh_sandbox.endpoint_url,
        region,
        "kinesisanalyticsv2",
        Credentials(alice["aws_access_key_id"], alice["aws_secret_access_key"]),
    )
    detail = flink.describe_application(ApplicationName=APP)["ApplicationDetail"]
    flink.delete_application_cloud_watch_logging_option(
        ApplicationName=APP,
        CurrentApplicationVersionId=detail["ApplicationVersionId"],
        CloudWatchLoggingOptionId=detail["CloudWatchLoggingOptionDescriptions"][0][
            "CloudWatchLoggingOptionId"
        ],
    )
    # The change alone (no daemon finding yet): the rule's own check, one evaluation later.
    evaluate(fresh_sandbox, "cloudwatch_logging", application=APP)
    state, note = compliance(config_client, "cloudwatch_logging")[APP]
    assert state == "NON_COMPLIANT" and "unknown" in note

    # The daemon saw alice's event and published its finding: Config names alice.
    cause = outsider_cause(fresh_sandbox, aws("sqs"))
    config = load_config(config_path)
    by_region = AwsByRegion()
    publisher = publisher_for(config, by_region)
    assert publisher is not None
    alert = evidence_config(tmp_path / "alert.yaml", region, cloudwatch_logging={"mode": "alert"})
    alerting = Reconciler(by_region, resolver_for(lambda: load_config(alert)), verdicts=publisher)
    app = AppRef(account, region, APP)
    assert alerting.reconcile(app, cause).result == "drift"
    assert publisher.flush().imported == 1
    evaluate(fresh_sandbox, "cloudwatch_logging")
    state, note = compliance(config_client, "cloudwatch_logging")[APP]
    assert state == "NON_COMPLIANT"
    assert alice["arn"] in note and len(note) <= 256

    enforcing = Reconciler(by_region, resolver_for(lambda: config), verdicts=publisher)
    assert enforcing.reconcile(app, cause).result == "fixed"
    publisher.flush()
    evaluate(fresh_sandbox, "cloudwatch_logging")
    state, note = compliance(config_client, "cloudwatch_logging")[APP]
    assert state == "COMPLIANT" and "fixed" in note
