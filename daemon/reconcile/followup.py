"""Settle the changes of an application that were still being applied at its last reconcile.

Called first in every reconcile of the app: each pending change is asked about once
(DescribeApplicationOperation, or the app's status when the reply named no operation). A failed
one is recorded `failed` or `rolled_back` and backed off. A restarting one that left the app
READY is `stopped` (AWS: without system rollback, or when the rollback fails, "your application
will be placed into the READY state"): the production job is down, an incident: recorded,
counted for a paging alert, and never retried until someone changes the app or the rule's
settings. A successful one is returned, for the
reconcile to record `applied` for the drifts its fresh plan no longer finds (an action of several
changes may have made only its first: the rest is planned again). One still in progress stays
pending and the reconcile is retried after a delay. Never waits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal

import structlog

from daemon import errors
from daemon.apply.executor import ActionOutcome, Executor
from daemon.aws import Aws
from daemon.reconcile.safeguards import Pending, Safeguards, SentWrite
from daemon.state import TRANSITIONAL_STATUSES, AppRef
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Settled:
    outcomes: tuple[ActionOutcome, ...] = ()  # failed and rolled-back changes, recorded
    succeeded: tuple[Pending, ...] = ()  # for the reconcile to record against its fresh plan
    retry_after_seconds: float = 0.0  # > 0: a change is still in progress


def settle_changes(
    app: AppRef,
    detail: Mapping[str, Any],
    aws: Aws,
    safeguards: Safeguards,
    executor: Executor,
    settings: Mapping[str, str],
) -> Settled:
    """`settings`: rule id -> its settings now (a backoff remembers them)."""
    settling = adopt_orphans(app, detail, aws, safeguards)
    if settling:  # another replica is recording a write it just made: plan after it
        return Settled(retry_after_seconds=settling)
    pending = safeguards.pending(app)
    if not pending:
        return Settled()
    if detail.get("ApplicationStatus") in TRANSITIONAL_STATUSES:
        still = tuple(replace(p, polls=p.polls + 1) for p in pending)
        return Settled(retry_after_seconds=safeguards.keep_pending(app, still))
    version = int(detail.get("ApplicationVersionId", 0))
    verdicts: list[tuple[Pending, str, str]] = []
    waiting: list[Pending] = []
    for change in pending:
        status, error = _status(aws, app, change, detail)
        if status == "IN_PROGRESS":
            waiting.append(replace(change, polls=change.polls + 1))
        else:
            verdicts.append((change, status, error))
    # Only what this process removed from the store is recorded (another replica may have
    # settled the same change a moment ago), and only if its write's outcome is ours to record
    # (its sender may have recorded it: a reply slower than the sender was thought alive).
    claimed, delay = safeguards.settle_pending(app, [c for c, _, _ in verdicts], tuple(waiting))
    outcomes: list[ActionOutcome] = []
    succeeded: list[Pending] = []
    for change, status, error in verdicts:
        if change not in claimed or not safeguards.claim_outcome(change.write_id):
            continue
        if status == "applied":
            succeeded.append(change)
            continue
        outcomes.append(_failed(app, change, status, error, detail, safeguards, executor, settings))
    if succeeded:
        safeguards.moved_by_us(app, version)
    return Settled(tuple(outcomes), tuple(succeeded), delay)


def _failed(
    app: AppRef,
    change: Pending,
    status: str,
    error: str,
    detail: Mapping[str, Any],
    safeguards: Safeguards,
    executor: Executor,
    settings: Mapping[str, str],
) -> ActionOutcome:
    """Record a change that failed or was rolled back, and back its rules off."""
    action, cause = change.action, change.cause
    version = int(detail.get("ApplicationVersionId", 0))
    outcome: Literal["rolled_back", "failed", "stopped"] = (
        "rolled_back" if status == "rolled_back" else "failed"
    )
    if action.restarts and detail.get("ApplicationStatus") == "READY":
        outcome = "stopped"
        error = f"the application is READY, its job stopped: {error}"
    recorded = executor.record(action, outcome, cause, error, operation_id=change.operation_id)
    for rule in action.rules:
        if outcome == "stopped":
            metrics.count_fix_stopped_application(rule)
        else:
            metrics.count_fix_operation_failed(rule, outcome)
        backoff = safeguards.record_failed(
            app,
            rule,
            version=version,
            settings=settings.get(rule, ""),
            stopped=outcome == "stopped",
        )
        log.warning(
            "fix_backed_off",
            rule=rule,
            outcome=outcome,
            error=error,
            backoff_seconds=backoff.seconds,
        )
    return recorded


CLOCK_SKEW = timedelta(seconds=60)  # an operation started this much "before" the write counts


def adopt_orphans(
    app: AppRef, detail: Mapping[str, Any], aws: Aws, safeguards: Safeguards
) -> float:
    """Take over the writes of a sender that died before recording their reply: as pending
    changes the normal follow-up settles (and records once). Returns how soon to look again
    when another process may still be recording a write (0: none)."""
    orphans = safeguards.orphaned_writes(app)
    settling = max((safeguards.write_settling_for(w) for w in orphans), default=0.0)
    if settling or not orphans:
        return settling
    version = int(detail.get("ApplicationVersionId", 0))
    followed = {p.operation_id for p in safeguards.pending(app)}
    operations: list[Mapping[str, Any]] | None = None
    for write in orphans:
        flink = any(c.service == "kinesisanalyticsv2" for c in write.action.calls)
        operation_id = ""
        if flink:
            if operations is None:
                operations = _operations(aws, app)
            operation_id = _operation_of(write, operations, followed)
        moved = flink and version > write.version_before
        if not (operation_id or moved or safeguards.write_given_up(write)):
            continue  # perhaps still being sent by a live replica: look again later
        followed.add(operation_id)
        pending = Pending(
            write.action,
            write.cause,
            operation_id,
            write.version_before,
            write.sent_at,
            write_id=write.write_id,
            adopted=True,
        )
        if safeguards.adopt_write(app, write, pending):
            log.warning(
                "write_adopted",
                write_id=write.write_id,
                rules=list(write.action.rules),
                operation_id=operation_id,
                sent_at=write.sent_at.isoformat(),
            )
    return 0.0


def _operations(aws: Aws, app: AppRef) -> list[Mapping[str, Any]]:
    reply = aws.call("kinesisanalyticsv2", "ListApplicationOperations", ApplicationName=app.name)
    return list(reply.get("ApplicationOperationInfoList") or [])


def _operation_of(write: SentWrite, operations: list[Mapping[str, Any]], followed: set[str]) -> str:
    """The operation the write started: the earliest of its kind since it was recorded that
    nobody follows yet."""
    candidates = [
        o
        for o in operations
        if o.get("Operation") == write.operation
        and str(o.get("OperationId")) not in followed
        and o.get("StartTime") is not None
        and o["StartTime"] >= write.sent_at - CLOCK_SKEW
    ]
    candidates.sort(key=lambda o: o["StartTime"])
    return str(candidates[0]["OperationId"]) if candidates else ""


def _status(aws: Aws, app: AppRef, change: Pending, detail: Mapping[str, Any]) -> tuple[str, str]:
    """IN_PROGRESS, applied, failed or rolled_back, and the service's error."""
    if not change.operation_id:
        rolled_from = int(detail.get("ApplicationVersionRolledBackFrom", 0) or 0)
        if rolled_from > change.version_before:
            return "rolled_back", "the service rolled the application back"
        return "applied", ""
    try:
        details = aws.call(
            "kinesisanalyticsv2",
            "DescribeApplicationOperation",
            ApplicationName=app.name,
            OperationId=change.operation_id,
        )["ApplicationOperationInfoDetails"]
    except errors.ResourceNotFound as exc:
        return "failed", f"operation {change.operation_id} is unknown: {exc}"
    status = str(details.get("OperationStatus", ""))
    if status == "IN_PROGRESS":
        return "IN_PROGRESS", ""
    if status == "SUCCESSFUL":
        return "applied", ""
    failure = details.get("OperationFailureDetails") or {}
    error = str((failure.get("ErrorInfo") or {}).get("ErrorString") or f"operation {status}")
    if failure.get("RollbackOperationId"):
        return "rolled_back", f"{error} (rolled back by {failure['RollbackOperationId']})"
    return "failed", error
