"""Read back this daemon's findings from Security Hub (GetFindings) for the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from daemon.aws import Aws
from daemon.evidence.asff import FIELD_PREFIX, PRODUCT_NAME, product_arn


@dataclass(frozen=True)
class FindingHistory:
    finding_id: str
    status: str  # Compliance.Status: FAILED | PASSED
    workflow: str  # Workflow.Status
    first_seen: str  # FirstObservedAt (ISO 8601)
    updated_at: str
    drift_by: str  # who made the drift (CloudTrail actor), "unknown" when a sweep found it
    fixed_at: str  # when it turned PASSED ("" while FAILED)
    fixed_by: str  # the daemon (its fix) or who cleared it
    resolution: str  # fixed | cleared | compliant | ""

    def as_json(self) -> dict[str, str]:
        return dict(self.__dict__)


def read_history(aws: Aws, account: str) -> dict[tuple[str, str], FindingHistory]:
    """(application ARN, rule id) -> the finding this daemon keeps for it, in `aws.region`."""
    return {key: _history(finding)[1] for key, finding in read_findings(aws, account).items()}


def read_findings(aws: Aws, account: str) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(application ARN, rule id) -> this daemon's finding for it as Security Hub returns it."""
    product = product_arn(aws.region, account)
    filters = {
        "ProductArn": [{"Value": product, "Comparison": "EQUALS"}],
        "GeneratorId": [{"Value": f"{PRODUCT_NAME}/", "Comparison": "PREFIX"}],
    }
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    token: str | None = None
    while True:
        params: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
        if token:
            params["NextToken"] = token
        page = aws.call("securityhub", "GetFindings", **params)
        for finding in page.get("Findings", []):
            # Filtered again here: a Security Hub that ignores filters must not mix in others.
            ours = str(finding.get("GeneratorId", "")).startswith(f"{PRODUCT_NAME}/")
            key, _ = _history(finding)
            if key is not None and ours and finding.get("ProductArn") == product:
                found[key] = finding
        token = page.get("NextToken")
        if not token:
            return found


def _history(finding: Mapping[str, Any]) -> tuple[tuple[str, str] | None, FindingHistory]:
    fields: Mapping[str, str] = finding.get("ProductFields") or {}

    def field(name: str) -> str:
        return str(fields.get(FIELD_PREFIX + name, ""))

    app_arn, rule = field("ApplicationArn"), field("Rule")
    status = str((finding.get("Compliance") or {}).get("Status", ""))
    history = FindingHistory(
        finding_id=str(finding.get("Id", "")),
        status=status,
        workflow=str((finding.get("Workflow") or {}).get("Status", "")),
        first_seen=str(finding.get("FirstObservedAt") or finding.get("CreatedAt", "")),
        updated_at=str(finding.get("UpdatedAt", "")),
        drift_by=field("DriftBy"),
        fixed_at=field("ResolvedAt") if status == "PASSED" else "",
        fixed_by=field("ResolvedBy") if status == "PASSED" else "",
        resolution=field("Resolution"),
    )
    return ((app_arn, rule) if app_arn and rule else None), history
