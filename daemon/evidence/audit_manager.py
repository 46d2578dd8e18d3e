"""AWS Audit Manager requests (pure): a custom framework whose controls are the project's
controls, each collecting the evaluations of its AWS Config rule, and a report's rows as manual
evidence.

API reference: https://docs.aws.amazon.com/audit-manager/latest/APIReference/API_CreateControl.html,
API_CreateAssessmentFramework.html, API_BatchImportEvidenceToAssessmentControl.html (1-50
manualEvidence items per call, textResponse 1-1000 characters; at most 100 manual uploads per
control and day). The AWS Config data source of a custom rule is the keyword `Custom_<name>`:
https://docs.aws.amazon.com/audit-manager/latest/userguide/control-data-sources-config.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from daemon.evidence.config_rule import audit_manager_keyword, config_rule_name, cut

EVIDENCE_PER_CALL = 50
TEXT_MAX = 1000
# The seed's control families; a rule not listed falls in the last set.
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Logging", ("cloudwatch_logging", "log_protection")),
    ("Encryption", ("encryption", "dependent_encryption", "secrets_in_properties")),
    ("Network isolation", ("vpc_required", "vpc_public_route")),
    ("Least privilege", ("execution_role_permissions",)),
    ("Confused deputy", ("execution_role_trust",)),
)
OTHER_FAMILY = "Resilience and change control"


def control_name(rule: str) -> str:
    return f"flink-remediator {rule}"


def family_of(rule: str) -> str:
    return next((name for name, rules in FAMILIES if rule in rules), OTHER_FAMILY)


def create_control(rule: str, summary: str, references: Sequence[str]) -> dict[str, Any]:
    """CreateControl: one AWS Config data source, the rule's custom Config rule."""
    refs = "; ".join(references) or "none mapped (controls: in the desired-state file)"
    return {
        "name": control_name(rule),
        "description": cut(f"{summary} (flink-remediator rule {rule})", 1000),
        "testingInformation": cut(f"Framework references: {refs}", 1000),
        "actionPlanTitle": "Fix the drift or let flink-remediator enforce the rule",
        "controlMappingSources": [
            {
                "sourceName": cut(f"AWS Config rule {config_rule_name(rule)}", 300),
                "sourceSetUpOption": "System_Controls_Mapping",
                "sourceType": "AWS_Config",
                "sourceKeyword": {
                    "keywordInputType": "SELECT_FROM_LIST",
                    "keywordValue": audit_manager_keyword(rule),
                },
            }
        ],
    }


def create_framework(name: str, control_ids: Mapping[str, str]) -> dict[str, Any]:
    """CreateAssessmentFramework over created controls (rule -> control id), one control set
    per control family, in the families' order."""
    sets: dict[str, list[dict[str, str]]] = {}
    for rule, control_id in control_ids.items():
        sets.setdefault(family_of(rule), []).append({"id": control_id})
    order = [n for n, _ in FAMILIES] + [OTHER_FAMILY]
    return {
        "name": name,
        "description": "Managed Service for Apache Flink controls checked by flink-remediator",
        "complianceType": "flink-remediator",
        "controlSets": [{"name": n, "controls": sets[n]} for n in order if n in sets],
    }


def evidence_texts(report: Mapping[str, Any], rule: str | None) -> list[str]:
    """textResponse entries: the report's header, then one per application and control (of
    `rule`, or every control), each within the API's 1000 characters."""
    header = report.get("header") or {}
    head = (
        f"flink-remediator report generated {header.get('generated_at', '?')} by "
        f"{header.get('caller_arn', '?')}, tool {header.get('tool_version', '?')}, config sha256 "
        f"{header.get('config_sha256', '?')}, accounts {' '.join(header.get('accounts') or ())}, "
        f"regions {' '.join(header.get('regions') or ())}"
    )
    texts = [cut(head, TEXT_MAX)]
    for app in report.get("applications") or ():
        for row in app.get("controls") or ():
            if rule is not None and row.get("control") != rule:
                continue
            line = (
                f"{app.get('arn', app.get('name'))} {row.get('control')}: {row.get('status')}"
                f"{'; ' + row['message'] if row.get('message') else ''}"
                f"{'; evidence: ' + row['evidence'] if row.get('evidence') else ''}"
            )
            texts.append(cut(line, TEXT_MAX))
    return texts
