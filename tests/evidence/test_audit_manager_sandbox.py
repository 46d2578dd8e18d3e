"""AWS Audit Manager against the sandbox: the framework command's requests are accepted, an
assessment over it collects the imported report as manual evidence on the named control, and
the API's documented errors come back (ResourceNotFoundException, ValidationException)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from daemon.cli import main
from sandbox.server import Sandbox
from tests.evidence.test_config_rules_sandbox import example_config


def run(capsys: Any, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def assessment_over(am: Any, framework_id: str, account: str) -> dict[str, Any]:
    return dict(
        am.create_assessment(
            name="Flink Q4",
            assessmentReportsDestination={
                "destinationType": "S3",
                "destination": "s3://audit-reports",
            },
            scope={"awsAccounts": [{"id": account}]},
            roles=[{"roleType": "PROCESS_OWNER", "roleArn": f"arn:aws:iam::{account}:role/audit"}],
            frameworkId=framework_id,
        )["assessment"]
    )


def test_framework_is_accepted_and_the_report_lands_on_the_control(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, aws: Any, capsys: Any
) -> None:
    region, account = fresh_sandbox.region, fresh_sandbox.account_id
    config = example_config(tmp_path / "c.yaml", region)
    code, printed = run(capsys, "audit-manager", "framework", "--config", str(config))
    assert code == 0
    plan = json.loads(printed)
    keywords = {
        s["sourceKeyword"]["keywordValue"]
        for c in plan["CreateControl"]
        for s in c["controlMappingSources"]
    }
    assert "Custom_flink-remediator-cloudwatch_logging" in keywords
    assert not [c for c in fresh_sandbox.calls() if c.service == "auditmanager"]  # printed only

    code, out = run(
        capsys,
        "audit-manager",
        "framework",
        "--config",
        str(config),
        "--create",
        "--region",
        region,
    )
    assert code == 0
    framework = json.loads(out)
    sets = {s["name"]: s for s in framework["controlSets"]}
    assert {"Logging", "Encryption", "Network isolation", "Confused deputy"} <= set(sets)
    logging_control = next(
        c for c in sets["Logging"]["controls"] if c["name"] == "flink-remediator cloudwatch_logging"
    )
    am = aws("auditmanager")
    assessment = assessment_over(am, framework["id"], account)
    assessment_id = assessment["metadata"]["id"]
    assert am.get_assessment(assessmentId=assessment_id)["assessment"]["metadata"]["name"] == (
        "Flink Q4"
    )

    report = tmp_path / "report.json"
    code, _ = run(
        capsys, "report", "--config", str(config), "--format", "json", "--output", str(report)
    )
    assert code == 0
    code, _ = run(
        capsys,
        "audit-manager",
        "import-report",
        "--report",
        str(report),
        "--assessment",
        assessment_id,
        "--control-set",
        "Logging",
        "--control",
        logging_control["id"],
        "--rule",
        "cloudwatch_logging",
        "--region",
        region,
    )
    assert code == 0
    folders = am.get_evidence_folders_by_assessment_control(
        assessmentId=assessment_id, controlSetId="Logging", controlId=logging_control["id"]
    )["evidenceFolders"]
    assert [f["totalEvidence"] for f in folders] == [1 + len(demo["applications"])]
    evidence = am.get_evidence_by_evidence_folder(
        assessmentId=assessment_id, controlSetId="Logging", evidenceFolderId=folders[0]["id"]
    )["evidence"]
    texts = [e["attributes"]["textResponse"] for e in evidence]
    assert texts[0].startswith("flink-remediator report generated")
    assert any("fraud-scorer cloudwatch_logging: violation" in t for t in texts)
    assert all(len(t) <= 1000 for t in texts)


def test_documented_errors(demo: dict[str, Any], fresh_sandbox: Sandbox, aws: Any) -> None:
    am = aws("auditmanager")
    missing = "0" * 8 + "-0000-0000-0000-" + "0" * 12
    with pytest.raises(ClientError) as caught:
        am.get_assessment(assessmentId=missing)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        am.create_assessment_framework(
            name="x", controlSets=[{"name": "Logging", "controls": [{"id": missing}]}]
        )
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    control = am.create_control(
        name="c",
        controlMappingSources=[
            {
                "sourceName": "m",
                "sourceSetUpOption": "Procedural_Controls_Mapping",
                "sourceType": "MANUAL",
            }
        ],
    )["control"]
    framework = am.create_assessment_framework(
        name="f", controlSets=[{"name": "Set", "controls": [{"id": control["id"]}]}]
    )["framework"]
    assessment = assessment_over(am, framework["id"], fresh_sandbox.account_id)
    with pytest.raises(ClientError) as caught:
        am.batch_import_evidence_to_assessment_control(
            assessmentId=assessment["metadata"]["id"],
            controlSetId="Set",
            controlId=control["id"],
            manualEvidence=[{"textResponse": "x"}] * 51,
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
