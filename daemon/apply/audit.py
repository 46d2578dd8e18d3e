"""The audit trail: one structured record per planned or applied change.

Records go to the `flink_remediator.audit` structlog logger, so a deployment can route them
to their own sink; every record is self-contained (who, what, before -> after, how, why).
"""

from __future__ import annotations

from typing import Any

import structlog

from daemon.state import Action, Cause, Drift
from daemon.vocabulary import Outcome

_EVENT_NAMES: dict[Outcome, str] = {
    "applied": "remediation_applied",
    "planned": "remediation_planned",
    "failed": "remediation_failed",
    "skipped": "remediation_skipped",
    "alerted": "violation_alerted",
}

audit_log = structlog.get_logger("flink_remediator.audit")


def record(action: Action, outcome: Outcome, cause: Cause, error: str = "") -> None:
    for drift in action.drifts:
        audit_log.info(_EVENT_NAMES[outcome], **audit_fields(action, drift, outcome, cause, error))


def audit_fields(
    action: Action, drift: Drift, outcome: Outcome, cause: Cause, error: str = ""
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "app": action.app.name,
        "app_arn": action.app.arn,
        "account": action.app.account,
        "region": action.app.region,
        "rule": drift.rule,
        "field": drift.field,
        "before": drift.current,
        "after": drift.desired,
        "message": drift.message,
        "api_calls": [f"{c.service}:{c.operation}" for c in action.calls],
        "mode": action.mode,
        "outcome": outcome,
        "trigger": cause.trigger,
    }
    if drift.resource:
        fields["resource"] = drift.resource
    if cause.event_id:
        fields["event_id"] = cause.event_id
    if cause.actor:
        fields["actor"] = cause.actor
    if error:
        fields["error"] = error
    return fields
