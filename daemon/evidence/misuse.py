"""Report a write made with the daemon's credentials that it cannot explain (the own-credential
canary, daemon/ingest/own_writes.py): an `own_write_unexplained` audit record and, with
`evidence.security_hub` on, a CRITICAL Security Hub finding imported at once (not batched: it
is an incident, and a pod that dies before the next flush must not lose it).

One finding per CloudTrail request id (a stable Id: a second look at the same event updates it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from daemon import errors
from daemon.apply.audit import audit_log
from daemon.apply.planned_writes import UnexplainedWrite
from daemon.aws import AwsByRegion
from daemon.desired.config import DesiredConfig
from daemon.evidence.asff import FIELD_PREFIX, PRODUCT_NAME, SCHEMA_VERSION, _iso, product_arn
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)
GENERATOR = f"{PRODUCT_NAME}/own-credential-canary"
RUNBOOK_ANCHOR = "flinkremediatorunexplainedownwrite"
TYPES = ["Unusual Behaviors/User", "TTPs/Persistence"]


def misuse_finding(
    unexplained: UnexplainedWrite, hub_region: str, runbook: str, now: datetime
) -> dict[str, Any]:
    """The ASFF finding (CRITICAL, FAILED) for one unexplained own write."""
    e = unexplained.event
    seen = _iso(e.event_time or now)
    fields = {
        "EventName": e.event_name,
        "RequestId": e.request_id,
        "EventId": e.event_id,
        "SourceIPAddress": e.source_ip,
        "UserAgent": e.user_agent,
        "Principal": e.actor,
        "Reason": unexplained.reason,
        "UnplannedParts": ", ".join(unexplained.parts),
        "Targets": ", ".join(e.targets),
    }
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": f"{PRODUCT_NAME}/unexplained-own-write/{e.account}/{e.request_id or e.event_id}",
        "ProductArn": product_arn(hub_region, e.account),
        "ProductName": PRODUCT_NAME,
        "CompanyName": PRODUCT_NAME,
        "GeneratorId": GENERATOR,
        "AwsAccountId": e.account,
        "Region": e.region,
        "Types": TYPES,
        "FirstObservedAt": seen,
        "LastObservedAt": seen,
        "CreatedAt": _iso(now),
        "UpdatedAt": _iso(now),
        "Severity": {"Label": "CRITICAL"},
        "FindingProviderFields": {"Severity": {"Label": "CRITICAL"}, "Types": TYPES},
        "Title": f"Unexplained {e.event_name} with the flink-remediator credentials"[:256],
        "Description": (
            f"{unexplained.text}. Source IP {e.source_ip or '?'}, user agent "
            f"{e.user_agent or '?'}, principal {e.actor or '?'}."
        )[:1024],
        "Remediation": {
            "Recommendation": {
                "Text": "Revoke the daemon role's active sessions, check CloudTrail for every "
                "call of this principal from that source, and restore what was changed.",
                "Url": runbook,
            }
        },
        "ProductFields": {FIELD_PREFIX + k: v[:2048] for k, v in fields.items() if v},
        "Resources": [
            {"Type": "AwsIamRole" if ":role/" in arn else "Other", "Id": arn, "Partition": "aws"}
            for arn in ([e.actor] if e.actor else [])
        ]
        or [{"Type": "Other", "Id": e.request_id or e.event_id, "Partition": "aws"}],
        "Compliance": {"Status": "FAILED"},
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE",
    }


class MisuseReporter:
    def __init__(self, aws: AwsByRegion, config: DesiredConfig, clock: Any) -> None:
        hub = config.security_hub
        self._aws = aws
        self._enabled = hub.enabled
        self._region = hub.region or config.regions[0]
        self._runbook = f"{hub.runbook_url}#{RUNBOOK_ANCHOR}"
        self._clock = clock

    def report(self, unexplained: UnexplainedWrite) -> None:
        e = unexplained.event
        audit_log.warning(
            "own_write_unexplained",
            reason=unexplained.reason,
            event_name=e.event_name,
            request_id=e.request_id,
            event_id=e.event_id,
            account=e.account,
            region=e.region,
            actor=e.actor,
            source_ip=e.source_ip,
            user_agent=e.user_agent,
            targets=list(e.targets),
            parts=list(unexplained.parts),
            detail=unexplained.text,
        )
        if not self._enabled:
            return
        finding = misuse_finding(unexplained, self._region, self._runbook, self._clock())
        try:
            response = self._aws.region(self._region).call(
                "securityhub", "BatchImportFindings", Findings=[finding]
            )
        except errors.AwsError as exc:
            metrics.count_evidence_findings("failed")
            log.error("own_write_finding_failed", request_id=e.request_id, error=str(exc))
            return
        if response.get("FailedFindings"):
            metrics.count_evidence_findings("failed")
            log.error("own_write_finding_rejected", failures=response["FailedFindings"])
            return
        metrics.count_evidence_findings("imported")
