"""Build AWS Security Finding Format (ASFF 2018-10-08) findings: pure, no I/O.

One finding per (application, rule), with a stable Id, so every import updates the same
finding: FAILED while the drift is open, PASSED once it is fixed or cleared. Who drifted it and
who resolved it travel in ProductFields (BatchImportFindings may update them; Note and Workflow
belong to the customer once the finding exists).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from daemon.reconcile.safeguards import FindingRecord as FindingRecord
from daemon.state import AppRef, Drift
from remediations import RULES

SCHEMA_VERSION = "2018-10-08"
PRODUCT_NAME = "flink-remediator"
FIELD_PREFIX = "flink-remediator/"
TYPE_BEST_PRACTICE = "Software and Configuration Checks/AWS Security Best Practices"
TYPE_STANDARDS = "Software and Configuration Checks/Industry and Regulatory Standards"
# Severity of a FAILED finding of a rule id the registry does not know (findings of a rule
# since removed); a registered rule declares its own (`Rule.severity`).
FALLBACK_SEVERITY = "LOW"
# docs/runbooks.md sections (GitHub anchors) that say what to do about a finding.
RUNBOOK_ANCHORS: Mapping[str, str] = {"vpc_public_route": "flinkremediatorpublicinternetroute"}
DEFAULT_ANCHOR = "flinkremediatordriftnotremediated"


def finding_id(app: AppRef, rule: str) -> str:
    return f"{app.arn}/{PRODUCT_NAME}/{rule}"


def product_arn(region: str, account: str) -> str:
    return f"arn:aws:securityhub:{region}:{account}:product/{account}/default"


def runbook_url(base: str, rule: str) -> str:
    return f"{base}#{RUNBOOK_ANCHORS.get(rule, DEFAULT_ANCHOR)}"


def severity_for(rule: str, configured: Mapping[str, str]) -> str:
    """The config's label for `rule`, else the rule's own: what a breach of the control exposes."""
    known = RULES.get(rule)
    return configured.get(rule) or (known.severity if known else FALLBACK_SEVERITY)


def build_finding(
    record: FindingRecord, hub_region: str, severity: str, runbook: str
) -> dict[str, Any]:
    app, failed = record.app, record.status == "FAILED"
    label = severity if failed else "INFORMATIONAL"
    types = [TYPE_BEST_PRACTICE] + ([TYPE_STANDARDS] if record.references else [])
    compliance: dict[str, Any] = {"Status": record.status}
    if record.references:
        compliance["RelatedRequirements"] = list(record.references)[:32]
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(app, record.rule),
        "ProductArn": product_arn(hub_region, app.account),
        "ProductName": PRODUCT_NAME,
        "CompanyName": PRODUCT_NAME,
        "GeneratorId": f"{PRODUCT_NAME}/{record.rule}",
        "AwsAccountId": app.account,
        "Region": app.region,
        "Types": types,
        "FirstObservedAt": _iso(record.first_seen),
        "LastObservedAt": _iso(record.observed_at),
        "CreatedAt": _iso(record.first_seen),
        "UpdatedAt": _iso(record.observed_at),
        "Severity": {"Label": label},
        "FindingProviderFields": {"Severity": {"Label": label}, "Types": types},
        "Title": _cut(f"{app.name}: {record.summary}", 256),
        "Description": _cut(_description(record), 1024),
        "Remediation": {
            "Recommendation": {"Text": _cut(_recommendation(record), 512), "Url": runbook}
        },
        "ProductFields": _product_fields(record),
        "Resources": _resources(app, record.drifts),
        "Compliance": compliance,
        "Workflow": {"Status": _workflow_status(record)},
        **({"Note": _note(record, record.observed_at)} if record.waiver else {}),
        "RecordState": "ACTIVE",
    }


def _workflow_status(record: FindingRecord) -> str:
    if record.status != "FAILED":
        return "RESOLVED"
    return "SUPPRESSED" if record.waiver else "NEW"


def waiver_note(record: FindingRecord) -> str:
    """The note of a waived finding: the waiver, so the suppression explains itself."""
    w = record.waiver
    if w is None:
        return f"{PRODUCT_NAME}: no waiver in force any more; the violation is open again."
    return (
        f"{PRODUCT_NAME}: waived by waiver {w.id} (ticket {w.ticket}, approved by "
        f"{w.approved_by}, expires {w.expires_text}); never fixed until it expires."
    )


def _note(record: FindingRecord, moment: datetime) -> dict[str, str]:
    return {
        "Text": _cut(waiver_note(record), 512),
        "UpdatedBy": PRODUCT_NAME,
        "UpdatedAt": _iso(moment),
    }


def workflow_update(
    record: FindingRecord, previous: FindingRecord | None, hub_region: str
) -> dict[str, Any] | None:
    """The BatchUpdateFindings request for a finding that became waived (SUPPRESSED) or is no
    longer waived while still open (NEW again); None when its workflow need not change."""
    was_waived = previous is not None and previous.waiver is not None
    if record.status == "FAILED" and record.waiver is not None:
        if was_waived and previous is not None and previous.waiver == record.waiver:
            return None
        status = "SUPPRESSED"
    elif record.status == "FAILED" and was_waived:
        status = "NEW"
    else:
        return None  # Security Hub resolves a PASSED finding itself
    note = {"Text": _cut(waiver_note(record), 512), "UpdatedBy": PRODUCT_NAME}
    ident = {
        "Id": finding_id(record.app, record.rule),
        "ProductArn": product_arn(hub_region, record.app.account),
    }
    return {"FindingIdentifiers": [ident], "Workflow": {"Status": status}, "Note": note}


def changes_text(drifts: Sequence[Drift]) -> str:
    """`field: before -> after` per drift: what is wrong (FAILED) or what was done (PASSED)."""
    return "; ".join(f"{d.field}: {_short(d.current)} -> {_short(d.desired)}" for d in drifts)


def _description(record: FindingRecord) -> str:
    app = record.app.name
    if record.status == "FAILED":
        why = "; ".join(d.message for d in record.drifts) or "drift found"
        who = f" Changed by {record.drift_by}." if record.drift_by else ""
        return f"Application {app} violates {record.rule}: {why}.{who}"
    if record.resolution == "fixed":
        return (
            f"Application {app} complies with {record.rule}: fixed by {record.resolved_by} "
            f"({changes_text(record.drifts)})."
        )
    if record.resolution == "cleared":
        return f"Application {app} complies with {record.rule} again (cleared, not by the daemon)."
    return f"Application {app} complies with {record.rule}."


def _recommendation(record: FindingRecord) -> str:
    fixable = all(d.fixable for d in record.drifts)
    if record.status == "FAILED" and fixable:
        return (
            f"Set {record.rule} to enforce mode to let flink-remediator fix it, or restore "
            f"the desired values by hand: {changes_text(record.drifts)}"
        )
    return f"Follow the runbook for {record.rule}; this drift needs a person to fix it."


def _product_fields(record: FindingRecord) -> dict[str, str]:
    fields = {
        "Rule": record.rule,
        "ApplicationArn": record.app.arn,
        "ApplicationName": record.app.name,
        "Status": record.status,
        "DriftBy": record.drift_by or "unknown",
        "Changes": changes_text(record.drifts),
        "References": "; ".join(record.references),
        "ResolvedBy": record.resolved_by,
        "Resolution": record.resolution,
        "ResolvedAt": _iso(record.observed_at) if record.status == "PASSED" else "",
        "Waiver": _waiver_field(record),
    }
    return {FIELD_PREFIX + k: _cut(v, 2048) for k, v in fields.items() if v}


def _waiver_field(record: FindingRecord) -> str:
    w = record.waiver
    return f"{w.id}; {w.ticket}; {w.approved_by}; {w.expires_text}" if w else ""


def _resources(app: AppRef, drifts: Sequence[Drift]) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = [
        {
            "Type": "Other",
            "Id": app.arn,
            "Partition": "aws",
            "Region": app.region,
            "Details": {"Other": {"ApplicationName": app.name}},
        }
    ]
    for arn in sorted({d.resource for d in drifts if d.resource and d.resource != app.arn}):
        resources.append(
            {"Type": _resource_type(arn), "Id": arn, "Partition": "aws", "Region": app.region}
        )
    return resources[:32]


def _resource_type(arn: str) -> str:
    if ":iam::" in arn and ":role/" in arn:
        return "AwsIamRole"
    if ":route-table/" in arn:
        return "AwsEc2RouteTable"
    if arn.startswith("arn:aws:logs:"):
        return "AwsLogsLogGroup"
    return "Other"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return _cut(text, 200)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
