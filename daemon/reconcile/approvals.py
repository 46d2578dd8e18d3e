"""Approved restarting fixes (`disruption.running: approved`).

`flink-remediator approve plan.json` records, per application, an approval of the restarting
fixes the plan deferred: who, which ticket, when it may be used, and the plan's digest (sha256
of the calls those fixes would make, merged as they would be sent, and of the version id the
plan saw). Before each reconcile sends anything, `with_approval` looks at the fixes its plan
defers `awaiting approval`: they are released (exactly those calls, once) only when the
application's approval is unused, inside its time, for the same version and the same digest.
A stale approval is refused with the reason (settled in the store, audited, logged, counted)
and the fixes stay deferred. The approval is used by a conditional write in the store, so of
two replicas only one sends the calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from daemon.apply import audit
from daemon.reconcile.disruption import AWAITING_APPROVAL, RESTARTS_TEXT, needs_approval
from daemon.reconcile.plan import merge_updates
from daemon.reconcile.safeguards import Approval, Safeguards
from daemon.state import Action, Call, Plan
from daemon.store import StoreUnavailable
from daemon.telemetry import metrics
from remediations.disruption import Window

log = structlog.get_logger(__name__)

UNWINDOWED_DAYS = 7  # an approval with no window (neither its own nor the rules') lasts a week


def awaiting(actions: Iterable[Action]) -> tuple[Action, ...]:
    """The enforcing restarting fixes deferred until someone approves them."""
    return tuple(
        a
        for a in actions
        if a.held == "deferred" and a.mode == "enforce" and a.restarts and needs_approval(a)
    )


def released(actions: Sequence[Action]) -> list[Action]:
    """The awaiting actions as they would be sent (merged: one UpdateApplication)."""
    return merge_updates(
        [replace(a, held=None, reason="", deferred_until=None) for a in awaiting(actions)]
    )


def calls_json(calls: Iterable[Call]) -> list[dict[str, Any]]:
    return [
        {
            "service": c.service,
            "operation": c.operation,
            "params": dict(c.params),
            "resource": c.resource,
            "versioned": c.versioned,
        }
        for c in calls
    ]


def plan_digest(version_id: int, calls: Sequence[Mapping[str, Any]]) -> str:
    """sha256 over the version id the plan saw and the calls, as canonical JSON."""
    body = {"version_id": version_id, "calls": list(calls)}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def digest_of(version_id: int, actions: Sequence[Action]) -> str:
    return plan_digest(version_id, calls_json(c for a in released(actions) for c in a.calls))


def usable_between(windows: Sequence[str], now: datetime) -> tuple[datetime, datetime]:
    """When an approval given at `now` may be used: the first of `windows` open at or after
    `now` (that one opening only), or a week from now when there is no window."""
    if not windows:
        return now, now + timedelta(days=UNWINDOWED_DAYS)
    return min(Window.parse(w).span_from(now) for w in windows)


def staleness(approval: Approval, version_id: int, digest: str, now: datetime) -> str:
    """Why `approval` no longer holds for a plan at `version_id` with `digest` ("" if it does;
    an approval whose time has not come yet still holds)."""
    if version_id != approval.version_id:
        return f"version changed (approved at {approval.version_id}, now {version_id})"
    if digest != approval.plan_digest:
        return "planned change differs from the approved plan"
    if now >= approval.closes:
        return f"window closed at {approval.closes.isoformat()}"
    return ""


def with_approval(plan: Plan, safeguards: Safeguards, dry_run: bool) -> Plan:
    """The plan with its awaiting fixes released by a valid approval (used here unless
    `dry_run`), or left deferred with the reason."""
    waiting = awaiting(plan.actions)
    if not waiting:
        return plan
    try:
        approval = safeguards.approval_for(plan.app)
    except StoreUnavailable as exc:
        return _still_deferred(plan, f"approvals unknown: {exc}")
    if approval is None:
        return plan
    return _use(plan, approval, waiting, safeguards, dry_run)


def _use(
    plan: Plan, approval: Approval, waiting: Sequence[Action], safeguards: Safeguards, dry_run: bool
) -> Plan:
    """Release the awaiting fixes if `approval` still holds (and claim it unless `dry_run`)."""
    if approval.state != "approved":
        said = f": {approval.reason}" if approval.reason else ""
        return _still_deferred(plan, f"last approval {approval.id} {approval.state}{said}")
    now = safeguards.now()
    stale = staleness(approval, plan.version_id, digest_of(plan.version_id, waiting), now)
    if stale:
        if not dry_run and safeguards.refuse_approval(approval, stale):
            _tell(approval, "refused", stale)
        return _still_deferred(plan, f"approval {approval.id} refused: {stale}")
    if now < approval.opens:
        text = f"approved ({approval.ticket}, {approval.approved_by}), deferred until "
        return _still_deferred(plan, text + approval.opens.isoformat(), until=approval.opens)
    if not dry_run and not safeguards.consume_approval(approval):
        return _still_deferred(plan, f"approval {approval.id} was used by another replica")
    if not dry_run:
        _tell(approval, "used", "")
    approved = [replace(a, approval=approval.ref) for a in released(plan.actions)]
    others = tuple(a for a in plan.actions if a not in waiting)
    return replace(plan, actions=others + tuple(approved))


def _still_deferred(plan: Plan, why: str, until: datetime | None = None) -> Plan:
    waiting = awaiting(plan.actions)
    reason = f"{AWAITING_APPROVAL}: {why} ({RESTARTS_TEXT})"
    actions = tuple(
        replace(a, reason=reason, deferred_until=until or a.deferred_until) if a in waiting else a
        for a in plan.actions
    )
    return replace(plan, actions=actions)


def _tell(approval: Approval, outcome: str, reason: str) -> None:
    fields: dict[str, Any] = {
        "app": approval.app.name,
        "app_arn": approval.app.arn,
        "account": approval.app.account,
        "region": approval.app.region,
        "rules": list(approval.rules),
        "approval": approval.ref.fields(),
    }
    if reason:
        fields["reason"] = reason
    audit.audit_log.info(f"approval_{outcome}", **fields)
    if outcome == "refused":
        log.warning("approval_refused", **fields)
    metrics.count_approval(outcome)
