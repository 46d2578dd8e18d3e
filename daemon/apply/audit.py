"""The audit trail: every write request as it is sent, and the outcome of every change.

Records go to the `flink_remediator.audit` structlog logger, so a deployment can route them
to their own sink; every record is self-contained (who, what, before -> after, how, why).
docs/audit.md describes each record and field.

- `remediation_sent`: one per HTTP request of a write, logged before it goes out (so a crash
  or a lost reply still leaves a trace), with an `attempt_id` of our own;
- `remediation_call_failed`: that request failed; `maybe_applied` says whether it may have
  taken effect anyway (a 5xx or a dropped connection: the reply, not the change, was lost);
- one outcome record per drift: `remediation_applied` (with AWS request ids), `_planned`,
  `_failed`, `_skipped`, `_pending` (a restarting change accepted, being followed),
  `_deferred` (waits for a disruption window), `_rolled_back`, `_stopped_application` (a
  restarting fix failed and left the running application READY: an incident), `violation_alerted`,
  `violation_waived` (a waiver allows the drift: with its id, ticket, approver and expiry).
  `confirmed: "state re-read"` on an applied record means the reply was lost and a fresh
  read found the change in place.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import structlog

from daemon import errors
from daemon.state import Action, Call, Cause, Drift
from daemon.vocabulary import Outcome

_EVENT_NAMES: dict[Outcome, str] = {
    "applied": "remediation_applied",
    "planned": "remediation_planned",
    "failed": "remediation_failed",
    "skipped": "remediation_skipped",
    "alerted": "violation_alerted",
    "pending": "remediation_pending",
    "deferred": "remediation_deferred",
    "rolled_back": "remediation_rolled_back",
    "stopped": "remediation_stopped_application",
    "waived": "violation_waived",
}

FAILURES: frozenset[Outcome] = frozenset({"failed", "rolled_back"})

audit_log = structlog.get_logger("flink_remediator.audit")


def record(action: Action, outcome: Outcome, cause: Cause, error: str = "", **extra: Any) -> None:
    for drift in action.drifts:
        fields = audit_fields(action, drift, outcome, cause, error)
        audit_log.info(_EVENT_NAMES[outcome], **fields, **extra)


class WriteTrail:
    """The audit records of one write call, an `AttemptObserver` of the AWS gateway."""

    def __init__(self, action: Action, call: Call, cause: Cause) -> None:
        self._fields: dict[str, Any] = {
            "app": action.app.name,
            "app_arn": action.app.arn,
            "account": action.app.account,
            "region": action.app.region,
            "rules": list(action.rules),
            "api_call": f"{call.service}:{call.operation}",
            "mode": action.mode,
            "trigger": cause.trigger,
        }
        if call.resource:
            self._fields["resource"] = call.resource
        if cause.event_id:
            self._fields["event_id"] = cause.event_id
        self.maybe_applied = False  # some request may have taken effect without a reply
        self.request_ids: list[str] = []  # AWS's ids of the requests that succeeded

    def sending(self, attempt: int) -> None:
        attempt_id = uuid.uuid4().hex
        self._fields["attempt_id"] = attempt_id
        audit_log.info("remediation_sent", **self._fields, attempt=attempt)

    def answered(
        self, attempt: int, response: Mapping[str, Any] | None, error: errors.AwsError | None
    ) -> None:
        if error is None:
            metadata = (response or {}).get("ResponseMetadata", {})
            self.request_ids.append(str(metadata.get("RequestId", "")))
            return
        maybe = isinstance(error, errors.RetryableAwsError) and error.maybe_applied
        self.maybe_applied = self.maybe_applied or maybe
        audit_log.warning(
            "remediation_call_failed",
            **self._fields,
            attempt=attempt,
            error=str(error),
            code=error.code,
            maybe_applied=maybe,
        )


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
    if action.waiver is not None:
        fields["waiver"] = action.waiver.fields()
    if action.approval is not None:
        fields["approval"] = action.approval.fields()
    if cause.event_id:
        fields["event_id"] = cause.event_id
    if cause.actor:
        fields["actor"] = cause.actor
    if error:
        # A fix held back (deferred to a window, alert-only, skipped) is not an error: `reason`.
        fields["error" if outcome in FAILURES else "reason"] = error
    return fields
