"""Publish rule verdicts to AWS Security Hub as ASFF findings, in batches.

`record` (called by the reconciler, in its worker thread) only updates memory: it turns a
verdict into a pending finding when the (application, rule) status changed, or was never sent
(what Security Hub took is kept in the safeguards' state store). `flush` (the daemon's
schedule, the end of `apply`) imports pending findings with BatchImportFindings, at most 100
per call, through the AWS gateway (so retried like every call). A failed import is logged and
counted and the findings stay pending for the next flush (a newer verdict for the same finding
replaces them); it never fails a reconcile.

The publisher writes to Security Hub only: it never changes an application. In dry-run it still
reports FAILED findings (finding a violation is not changing the workload).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from daemon import errors
from daemon.aws import AwsByRegion
from daemon.desired.config import DesiredConfig, SecurityHubSettings
from daemon.evidence.asff import (
    build_finding,
    finding_id,
    runbook_url,
    severity_for,
    workflow_update,
)
from daemon.reconcile.safeguards import FindingRecord, Safeguards
from daemon.reconcile.verdicts import Verdict
from daemon.tasks import Schedule, Tasks
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)

BATCH_SIZE = 100  # BatchImportFindings takes at most 100 findings per request
DAEMON = "flink-remediator"


@dataclass(frozen=True)
class FlushReport:
    imported: int = 0
    failed: int = 0
    pending: int = 0


class SecurityHubPublisher:
    def __init__(
        self,
        aws: AwsByRegion,
        settings: SecurityHubSettings,
        region: str,
        summaries: Mapping[str, str],
        controls: Mapping[str, tuple[str, ...]] | None = None,
        safeguards: Safeguards | None = None,
    ) -> None:
        self._aws = aws
        self._settings = settings
        self.region = region
        self._summaries = summaries
        self._controls = controls or {}
        # The last record per finding, and the wall clock, are the safeguards'.
        self._safeguards = safeguards or Safeguards()
        self._lock = threading.Lock()
        self._pending: dict[str, FindingRecord] = {}  # finding id -> newest unsent record
        self._identity = ""
        # What Security Hub holds, read once at start (read_back): finding id -> when it was
        # first observed and who drifted it, for findings the state store has no record of.
        self._open_in_hub: dict[str, tuple[datetime, str]] = {}

    def record(self, verdict: Verdict) -> None:
        now = self._safeguards.now()
        key = finding_id(verdict.app, verdict.rule)
        with self._lock:
            # The newest record not yet imported, else what the state store says was imported.
            previous = self._pending.get(key) or self._safeguards.last_finding(
                verdict.app, verdict.rule
            )
            record = self._next(verdict, previous, now)
            if record is not None:
                self._pending[key] = record

    def _next(
        self, verdict: Verdict, previous: FindingRecord | None, now: datetime
    ) -> FindingRecord | None:
        """The record to send for this verdict, or None when Security Hub already has it."""
        actor = verdict.cause.actor
        if verdict.violated:
            drifts = tuple(sorted(verdict.drifts, key=lambda d: (d.field, d.resource)))
            same = previous and previous.drifts == drifts and previous.waiver == verdict.waiver
            if previous and previous.status == "FAILED" and same:
                return None
            was_open = previous if previous is not None and previous.status == "FAILED" else None
            first_seen, drift_by = (
                (was_open.first_seen, was_open.drift_by) if was_open else (now, "")
            )
            if previous is None:  # not in the store: what Security Hub itself holds, if open
                hub = self._open_in_hub.get(finding_id(verdict.app, verdict.rule))
                first_seen, drift_by = hub if hub is not None else (first_seen, drift_by)
            return replace(
                self._base(verdict, now),
                drifts=drifts,
                drift_by=actor or drift_by,
                first_seen=first_seen,
                waiver=verdict.waiver,
            )
        if previous is not None and previous.status == "PASSED" and not verdict.drifts:
            return None
        base = self._base(verdict, now)
        if verdict.outcome == "applied":  # the daemon fixed it in this reconcile
            return replace(
                base,
                status="PASSED",
                drifts=verdict.drifts,
                drift_by=actor or (previous.drift_by if previous else ""),
                first_seen=previous.first_seen if previous else now,
                resolved_by=self._identity or DAEMON,
                resolution="fixed",
            )
        if previous is not None and previous.status == "FAILED":  # someone else put it back
            return replace(
                base,
                status="PASSED",
                drifts=previous.drifts,
                drift_by=previous.drift_by,
                first_seen=previous.first_seen,
                resolved_by=actor or "unknown (found compliant by a later check)",
                resolution="cleared",
            )
        return replace(base, status="PASSED", resolution="compliant")

    def _base(self, verdict: Verdict, now: datetime) -> FindingRecord:
        return FindingRecord(
            app=verdict.app,
            rule=verdict.rule,
            summary=self._summaries.get(verdict.rule, verdict.rule),
            status="FAILED",
            drifts=(),
            drift_by="",
            first_seen=now,
            observed_at=now,
            references=self._controls.get(verdict.rule, ()),
        )

    def set_identity(self, arn: str) -> None:
        """The daemon's own principal, named as the fixer in resolved findings."""
        self._identity = arn

    def register(self, tasks: Tasks, schedule: Schedule, own_arn: str) -> None:
        """In the daemon: name `own_arn` as the fixer, flush every flush_interval_seconds, and
        once more at stop, which comes after the workers drained: the last findings are sent."""
        self.set_identity(own_arn)
        self.read_back()
        schedule.every("evidence_flush", self.flush, self._settings.flush_interval_seconds)
        tasks.add("evidence", lambda: None, self.flush)

    def read_back(self) -> int:
        """Read the daemon's open (FAILED) findings from Security Hub (GetFindings), so a
        finding the state store does not know keeps the FirstObservedAt AWS already holds.
        A failed read is logged: findings then start from now, as before."""
        filters = {
            "GeneratorId": [{"Value": f"{DAEMON}/", "Comparison": "PREFIX"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
            "ComplianceStatus": [{"Value": "FAILED", "Comparison": "EQUALS"}],
        }
        found: dict[str, tuple[datetime, str]] = {}
        params: dict[str, object] = {"Filters": filters, "MaxResults": 100}
        try:
            while True:
                page = self._aws.region(self.region).call("securityhub", "GetFindings", **params)
                for f in page.get("Findings", []):
                    fields = f.get("ProductFields") or {}
                    first = datetime.fromisoformat(str(f["FirstObservedAt"]).replace("Z", "+00:00"))
                    found[str(f["Id"])] = (first, str(fields.get(f"{DAEMON}/DriftBy", "")))
                if not page.get("NextToken"):
                    break
                params["NextToken"] = page["NextToken"]
        except (errors.AwsError, KeyError, ValueError) as exc:
            log.warning("evidence_read_back_failed", error=str(exc))
            return 0
        with self._lock:
            self._open_in_hub = found
        return len(found)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> FlushReport:
        with self._lock:
            batch, self._pending = self._pending, {}
        records = list(batch.values())
        imported = failed = 0
        for start in range(0, len(records), BATCH_SIZE):
            chunk = records[start : start + BATCH_SIZE]
            ok, bad = self._import(chunk)
            imported, failed = imported + ok, failed + bad
        with self._lock:
            left = len(self._pending)
        if records:
            log.info("evidence_flushed", imported=imported, failed=failed, pending=left)
        return FlushReport(imported, failed, left)

    def _import(self, chunk: list[FindingRecord]) -> tuple[int, int]:
        findings = [
            build_finding(
                r,
                self.region,
                severity_for(r.rule, self._settings.severity),
                runbook_url(self._settings.runbook_url, r.rule),
            )
            for r in chunk
        ]
        try:
            response = self._aws.region(self.region).call(
                "securityhub", "BatchImportFindings", Findings=findings
            )
        except errors.AwsError as exc:
            metrics.count_evidence_findings("failed", len(chunk))
            log.error("evidence_import_failed", findings=len(chunk), error=str(exc))
            with self._lock:  # keep them for the next flush unless a newer verdict came
                for record in chunk:
                    self._pending.setdefault(finding_id(record.app, record.rule), record)
            return 0, len(chunk)
        rejected = list(response.get("FailedFindings", []))
        for failure in rejected:  # invalid findings: retrying the same body cannot help
            log.error(
                "evidence_finding_rejected",
                finding=failure.get("Id"),
                code=failure.get("ErrorCode"),
                error=failure.get("ErrorMessage"),
            )
        if rejected:
            metrics.count_evidence_findings("failed", len(rejected))
        # Only what Security Hub took is recorded as sent: a pod that dies before a flush
        # leaves its findings to the next one.
        refused = {str(f.get("Id")) for f in rejected}
        taken = [r for r in chunk if finding_id(r.app, r.rule) not in refused]
        self._workflow(taken)
        for record in taken:
            self._safeguards.record_finding(record)
        metrics.count_evidence_findings("imported", len(chunk) - len(rejected))
        return len(chunk) - len(rejected), len(rejected)

    def _workflow(self, records: list[FindingRecord]) -> None:
        """A waived finding is SUPPRESSED with the waiver in its note; one no longer waived is
        NEW again. BatchImportFindings cannot change Workflow or Note of an existing finding
        (https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchimportfindings.html),
        so they are set with BatchUpdateFindings, as a customer's tool does."""
        updates = [
            u
            for r in records
            if (u := workflow_update(r, self._safeguards.last_finding(r.app, r.rule), self.region))
        ]
        for update in updates:
            try:
                answer = self._aws.region(self.region).call(
                    "securityhub", "BatchUpdateFindings", **update
                )
            except errors.AwsError as exc:  # the finding itself is imported: say so, go on
                log.error("evidence_workflow_failed", error=str(exc))
                continue
            for failed in answer.get("UnprocessedFindings") or ():
                log.error(
                    "evidence_workflow_failed",
                    finding=(failed.get("FindingIdentifier") or {}).get("Id"),
                    code=failed.get("ErrorCode"),
                )


def publisher_for(
    config: DesiredConfig, aws: AwsByRegion, safeguards: Safeguards | None = None
) -> SecurityHubPublisher | None:
    """The configured publisher, or None when `evidence.security_hub` is off."""
    from remediations import RULES

    hub = config.security_hub
    if not hub.enabled:
        return None
    summaries = {rule_id: rule.summary for rule_id, rule in RULES.items()}
    return SecurityHubPublisher(
        aws, hub, hub.region or config.regions[0], summaries, config.controls, safeguards
    )
