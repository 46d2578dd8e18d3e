"""AWS Config custom rules against the sandbox: the rule's Lambda handler (run by the sandbox
as Lambda would) answers from the daemon's Security Hub finding when fresh, else from the rules'
own check; evaluations read back with GetComplianceDetailsByConfigRule, as an auditor would."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from daemon.aws import AwsByRegion
from daemon.cli import main
from daemon.desired.loader import load_config
from daemon.evidence.config_rule import config_rule_name
from daemon.evidence.securityhub import publisher_for
from daemon.reconcile.listeners import verdicts_to
from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.rules import resolver_for
from daemon.state import AppRef, Cause
from remediations import RULES
from sandbox.config_demo import deploy_config_rules
from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, execution_role
from tests.e2e.configs import waiver_entry
from tests.evidence.test_securityhub_sandbox import APP, evidence_config, outsider_cause
from tests.harness import delete_logging


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
    delete_logging(flink, APP)
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
    alerting = Reconciler(
        by_region, resolver_for(lambda: load_config(alert)), listeners=verdicts_to(publisher)
    )
    app = AppRef(account, region, APP)
    assert alerting.reconcile(app, cause).result == "drift"
    assert publisher.flush().imported == 1
    evaluate(fresh_sandbox, "cloudwatch_logging")
    state, note = compliance(config_client, "cloudwatch_logging")[APP]
    assert state == "NON_COMPLIANT"
    assert alice["arn"] in note and len(note) <= 256

    enforcing = Reconciler(
        by_region, resolver_for(lambda: config), listeners=verdicts_to(publisher)
    )
    assert enforcing.reconcile(app, cause).result == "fixed"
    publisher.flush()
    evaluate(fresh_sandbox, "cloudwatch_logging")
    state, note = compliance(config_client, "cloudwatch_logging")[APP]
    assert state == "COMPLIANT" and "fixed" in note


EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "desired-state.example.yaml"
# The report's statuses as AWS Config's compliance types.
AS_CONFIG = {
    "compliant": "COMPLIANT",
    "violation": "NON_COMPLIANT",
    "not applicable": "NOT_APPLICABLE",
    "not evaluated": "NOT_APPLICABLE",
}


def example_config(path: Path, region: str, **rules: dict[str, object]) -> Path:
    """The demo's desired state (every rule the example sets), with Security Hub evidence."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    for rule_id, settings in rules.items():
        doc["rules"][rule_id].update(settings)
    doc["regions"] = [region]
    doc["evidence"] = {"security_hub": {"enabled": True, "region": region}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def report_statuses(capsys: Any, config: Path) -> dict[tuple[str, str], str]:
    capsys.readouterr()
    code = main(["report", "--config", str(config), "--format", "json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    return {
        (app["name"], row["control"]): AS_CONFIG[row["status"]]
        for app in out["applications"]
        for row in app["controls"]
    }


def config_statuses(config_client: Any, rules: list[str]) -> dict[tuple[str, str], str]:
    return {
        (app, rule): state
        for rule in rules
        for app, (state, _) in compliance(config_client, rule).items()
    }


def test_handler_and_daemon_agree_on_every_demo_app_and_rule(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, aws: Any, capsys: Any
) -> None:
    region = fresh_sandbox.region
    aws("securityhub").enable_security_hub()
    path = example_config(tmp_path / "example.yaml", region)
    deployed = deploy(aws, path)
    rules = sorted(RULES)
    assert deployed == [config_rule_name(r) for r in rules]
    reported = report_statuses(capsys, path)
    assert set(reported.values()) >= {"COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"}
    # A rule disabled everywhere (and mapped to no control) has no report row: not applicable.
    expected = {
        (app, rule): reported.get((app, rule), "NOT_APPLICABLE")
        for app in demo["applications"]
        for rule in rules
    }

    # No finding yet: every answer comes from the rules' own check.
    results = evaluate(fresh_sandbox, *rules)
    assert all(r["evaluations"] == len(demo["applications"]) for r in results)
    assert config_statuses(aws("config"), rules) == expected

    # The daemon's findings (a dry-run pass, as in alert mode) now answer: still the same.
    config = load_config(path)
    by_region = AwsByRegion()
    publisher = publisher_for(config, by_region)
    assert publisher is not None
    dry = Reconciler(
        by_region, resolver_for(lambda: config), dry_run=True, listeners=verdicts_to(publisher)
    )
    for name in demo["applications"]:
        dry.reconcile(AppRef(fresh_sandbox.account_id, region, name), Cause("sweep"))
    assert publisher.flush().imported > 0
    evaluate(fresh_sandbox, *rules)
    assert config_statuses(aws("config"), rules) == expected
    notes = [note for rule in rules for _, note in compliance(aws("config"), rule).values()]
    assert any("daemon finding" in note for note in notes)
    for rule in {r for _, r in expected} - {r for _, r in reported}:
        assert all("disabled" in n for _, n in compliance(aws("config"), rule).values())


def test_a_notebook_is_not_applicable_for_the_vpc_rules(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, aws: Any
) -> None:
    vpc = {
        "enabled": True,
        "subnet_ids": ["subnet-0a1b2c3d"],
        "security_group_ids": ["sg-0a1b2c3d"],
    }
    path = example_config(tmp_path / "example.yaml", fresh_sandbox.region, vpc_required=vpc)
    deploy(aws, path)
    role = execution_role(aws("iam"))
    aws("kinesisanalyticsv2").create_application(
        ApplicationName="studio",
        RuntimeEnvironment="ZEPPELIN-FLINK-3_0",
        ApplicationMode="INTERACTIVE",
        ServiceExecutionRole=role,
        ApplicationConfiguration={},
    )
    evaluate(fresh_sandbox, "vpc_required", "vpc_public_route", application="studio")
    reasons = {
        "vpc_required": "does not cover ZEPPELIN-FLINK",  # the rule is for streaming apps
        "vpc_public_route": "no VPC configuration",  # covers notebooks, but this has no VPC
    }
    for rule, reason in reasons.items():
        state, note = compliance(aws("config"), rule)["studio"]
        assert state == "NOT_APPLICABLE" and reason in note, (rule, note)
    # Creating it was a configuration change: every rule has evaluated it already.
    states = {compliance(aws("config"), rule)["studio"][0] for rule in RULES}
    assert "NON_COMPLIANT" in states  # e.g. its execution role trusts without conditions
    by_resource = aws("config").describe_compliance_by_resource(ResourceId="studio")
    assert by_resource["ComplianceByResources"] == [
        {
            "ResourceType": "AWS::KinesisAnalyticsV2::Application",
            "ResourceId": "studio",
            "Compliance": {"ComplianceType": "NON_COMPLIANT"},
        }
    ]


def test_a_waived_drift_is_non_compliant_and_its_annotation_names_the_waiver(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, aws: Any
) -> None:
    """A waiver accepts a deviation; it does not make the application meet the rule: AWS
    Config's own exceptions (PutRemediationExceptions) apply only to NON_COMPLIANT resources.
    So the evaluation stays NON_COMPLIANT, and its annotation leads with the waiver."""
    aws("securityhub").enable_security_hub()
    config_path = evidence_config(tmp_path / "c.yaml", fresh_sandbox.region)
    doc = yaml.safe_load(config_path.read_text())
    expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc["waivers"] = [waiver_entry(APP, "cloudwatch_logging", expires)]
    config_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    deploy(aws, config_path)
    delete_logging(aws("kinesisanalyticsv2"), APP)
    evaluate(fresh_sandbox, "cloudwatch_logging", application=APP)
    state, note = compliance(aws("config"), "cloudwatch_logging")[APP]
    assert state == "NON_COMPLIANT"
    assert note.startswith(f"waived (CHG-4711, jane.doe, {expires}): waiver WVR-7; drifted by")
