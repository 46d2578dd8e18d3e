"""Apply: the only code that sends mutating AWS calls.

It owns modes (enforce, dry-run, alert) and version tokens. Concurrent modification and
"resource in use" are raised to the reconciler, which re-observes and re-plans; permanent
errors are recorded and never retried. It never waits for an application to settle: a change
the service is still applying ends the action `pending` with its OperationId, which the
reconciler follows on a later reconcile (daemon/reconcile/outcomes.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import structlog

from daemon import errors
from daemon.apply import audit
from daemon.apply.merge import merged_call
from daemon.apply.notify import Notifier
from daemon.apply.rejections import REJECTION_CODES
from daemon.aws import Aws
from daemon.iam_actions import iam_action
from daemon.state import TRANSITIONAL_STATUSES, Action, AppRef, Call, Cause, Mode, Plan
from daemon.telemetry import metrics
from daemon.vocabulary import Outcome

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ActionOutcome:
    action: Action
    outcome: Outcome
    error: str = ""
    retryable: bool = False  # a transient failure: the triggering event should come back
    # pending: the operation the service is applying ("" when its reply named none)
    operation_id: str = ""
    write_id: str = ""  # the ledger entry of the write (when a ledger was given)


class WriteLedger(Protocol):
    """Where each write is recorded before it is sent and settled once its reply is in
    (daemon/reconcile/safeguards keeps it in the state store)."""

    def record_write(self, action: Action, cause: Cause, version: int) -> str: ...

    def record_sent(
        self,
        action: Action,
        write_id: str,
        request_ids: tuple[str, ...],
        operation_id: str | None,
        version_after: int,
    ) -> None: ...

    def claim_outcome(self, write_id: str) -> bool:
        """May this process record the write's outcome? (Exactly one process may.)"""
        ...


@dataclass
class _Version:
    """The application's version id as it moves with each versioned call we make, and
    whether a change of ours is still in progress (then the service refuses another)."""

    current: int
    in_progress: str | None = None  # the OperationId ("" if none was returned)


class Executor:
    def __init__(
        self,
        aws: Aws,
        notifier: Notifier,
        dry_run: bool = False,
        ledger: WriteLedger | None = None,
    ) -> None:
        self._aws = aws
        self._dry_run = dry_run
        self._notifier = notifier
        self._ledger = ledger
        # Writes whose reply was lost, waiting for the re-read that tells if they took effect.
        self._unconfirmed: list[tuple[Action, Cause, str]] = []  # with the write id
        self.version_after = 0  # the app's version after our last execute
        self._request_ids: list[str] = []  # AWS request ids of the last action sent

    def execute(self, plan: Plan, cause: Cause) -> tuple[ActionOutcome, ...]:
        version = _Version(plan.version_id)
        outcomes = tuple(o for a in plan.actions for o in self._execute_action(a, version, cause))
        self.version_after = version.current
        if not self._dry_run:
            alerted = {r for o in outcomes if o.outcome == "alerted" for r in o.action.rules}
            self._notifier.forget_cleared(plan.app, alerted)
        return outcomes

    def confirm(self, plan: Plan) -> tuple[ActionOutcome, ...]:
        """After a fresh read: writes whose reply was lost and whose drift is gone took effect
        (recorded applied, confirmed by the re-read); the others are planned again."""
        remaining = {(d.rule, d.field, d.resource) for d in plan.drifts}
        confirmed = tuple(
            self._finish(action, "applied", cause, write_id=write_id, confirmed="state re-read")
            for action, cause, write_id in self._unconfirmed
            if not any((d.rule, d.field, d.resource) in remaining for d in action.drifts)
        )
        self._unconfirmed.clear()
        return confirmed

    def give_up_unconfirmed(self) -> None:
        """The reconcile ends without a fresh read: what a lost reply did stays unknown."""
        for action, cause, write_id in self._unconfirmed:
            error = "outcome unknown: the reply was lost"
            self._finish(action, "failed", cause, error, True, write_id=write_id)
        self._unconfirmed.clear()

    def _execute_action(
        self, action: Action, version: _Version, cause: Cause
    ) -> tuple[ActionOutcome, ...]:
        if action.held is not None:  # a window, the fix budget, a backoff: recorded, not sent
            return (self._finish(action, action.held, cause, action.reason),)
        if action.alert_only:
            if action.notify_topic and not self._dry_run:
                self._notifier.notify(self._aws, action, cause)
            return (self._finish(action, "alerted", cause),)
        undeclared = sorted({iam_action(c.service, c.operation) for c in action.calls})
        undeclared = [a for a in undeclared if a not in action.write_actions]
        if undeclared:  # a rule bug: refused before any call, in dry-run too
            error = errors.UndeclaredAction(
                undeclared[0],
                f"{', '.join(undeclared)} not among the write actions of {', '.join(action.rules)}",
            )
            return (self._finish(action, "failed", cause, str(error)),)
        if self._dry_run or action.mode == "dry-run":
            return (self._finish(action, "planned", cause),)
        if version.in_progress is not None and any(_refused_while_busy(c) for c in action.calls):
            # The service refuses a second change (tags included) while ours runs; planned
            # again after it.
            reason = "waits for the change in progress on the application"
            return (self._finish(action, "skipped", cause, reason, retryable=True),)
        if self._ledger is None:
            return self._send_action(action, version, cause)
        # Recorded before it is sent: if this process dies before the reply is recorded, the
        # next one finds the write in the ledger and confirms what it did.
        write_id = self._ledger.record_write(action, cause, version.current)
        outcomes: tuple[ActionOutcome, ...] = ()
        try:
            outcomes = self._send_action(action, version, cause, write_id)
        finally:  # a lost reply is confirmed in this reconcile (confirm, give_up_unconfirmed)
            # (a rejected merge's parts were each recorded on their own: theirs carry an id)
            pending = next((o for o in outcomes if o.outcome == "pending" and not o.write_id), None)
            self._ledger.record_sent(
                action,
                write_id,
                tuple(self._request_ids),
                pending.operation_id if pending else None,
                version.current,
            )
        return tuple(replace(o, write_id=o.write_id or write_id) for o in outcomes)

    def _send_action(
        self, action: Action, version: _Version, cause: Cause, write_id: str = ""
    ) -> tuple[ActionOutcome, ...]:
        started = time.monotonic()
        trails: list[audit.WriteTrail] = []
        try:
            for call in action.calls:
                if _refused_while_busy(call) and version.in_progress is not None:
                    break  # the rest is planned again once our change has settled
                trails.append(audit.WriteTrail(action, call, cause))
                self._send(call, action.app, version, trails[-1])
        except errors.ReplanNeeded as exc:
            if any(t.maybe_applied for t in trails):
                self._unconfirmed.append((action, cause, write_id))
            raise exc
        except errors.RetryableAwsError as exc:
            if any(t.maybe_applied for t in trails):
                self._unconfirmed.append((action, cause, write_id))
                raise errors.WriteOutcomeUnknown(exc.operation, exc.code, str(exc)) from exc
            error = str(exc)
            return (self._finish(action, "failed", cause, error, True, write_id=write_id),)
        except errors.PermanentAwsError as exc:
            if exc.code in REJECTION_CODES and len(action.parts) > 1:
                return self._without_rejected(action, exc, version, cause)
            return (self._finish(action, "failed", cause, str(exc), write_id=write_id),)
        finally:
            self._request_ids = [i for t in trails for i in t.request_ids]
            for rule in action.rules:
                metrics.observe_remediation_duration(rule, time.monotonic() - started)
        request_ids = [i for t in trails for i in t.request_ids]
        if version.in_progress is not None:
            operation = version.in_progress
            return (
                self._finish(
                    action, "pending", cause, operation_id=operation, aws_request_ids=request_ids
                ),
            )
        return (
            self._finish(action, "applied", cause, write_id=write_id, aws_request_ids=request_ids),
        )

    def _without_rejected(
        self, action: Action, exc: errors.AwsError, version: _Version, cause: Cause
    ) -> tuple[ActionOutcome, ...]:
        """The service rejected a merged UpdateApplication: send each half of its rules again
        (rejections.py: a message is not relied on to name the field), so the rejected rule ends
        up alone, `failed`, and the other rules' fixes still land."""
        parts = action.parts
        log.warning("merged_update_rejected", rules=list(action.rules), error=str(exc))
        half = len(parts) // 2
        first = self._execute_action(_update_only(action, parts[:half]), version, cause)
        return first + self._execute_action(_update_only(action, parts[half:]), version, cause)

    def _send(self, call: Call, app: AppRef, version: _Version, trail: audit.WriteTrail) -> None:
        params: dict[str, Any] = dict(call.params)
        if call.versioned:
            params["CurrentApplicationVersionId"] = version.current
        response = self._aws.observed_call(trail, call.service, call.operation, **params)
        if call.versioned:
            version.current = _new_version(response, version.current)
            version.in_progress = self._in_progress(app, response)

    def _in_progress(self, app: AppRef, response: Mapping[str, Any]) -> str | None:
        """None when the change is complete; else the OperationId to follow ("" for none)."""
        operation_id = str(response.get("OperationId") or "")
        if operation_id:
            details = self._aws.call(
                "kinesisanalyticsv2",
                "DescribeApplicationOperation",
                ApplicationName=app.name,
                OperationId=operation_id,
            )["ApplicationOperationInfoDetails"]
            return None if details.get("OperationStatus") == "SUCCESSFUL" else operation_id
        detail = self._aws.call(
            "kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name
        )["ApplicationDetail"]
        return "" if detail.get("ApplicationStatus") in TRANSITIONAL_STATUSES else None

    def record(
        self, action: Action, outcome: Outcome, cause: Cause, error: str = "", **extra: Any
    ) -> ActionOutcome:
        """Record an outcome learned later (a followed change): audit and metrics."""
        return self._finish(action, outcome, cause, error, **extra)

    def _finish(
        self,
        action: Action,
        outcome: Outcome,
        cause: Cause,
        error: str = "",
        retryable: bool = False,
        operation_id: str = "",
        write_id: str = "",
        **extra: Any,
    ) -> ActionOutcome:
        """Record an outcome (audit, metrics). The outcome of a ledgered write (`write_id`) is
        recorded only by the one process that claims it: another replica that took the write
        over (it thought this process dead) may have recorded it already."""
        if write_id and self._ledger is not None and not self._ledger.claim_outcome(write_id):
            reason = "its outcome was recorded by the replica that took the write over"
            return ActionOutcome(action, "skipped", reason, write_id=write_id)
        # In a global dry-run an enforcing action is recorded as dry-run, in metrics and audit;
        # the returned outcome keeps the configured mode (what `plan` shows `apply` would do).
        mode: Mode = "dry-run" if self._dry_run and action.mode == "enforce" else action.mode
        if operation_id:
            extra["operation_id"] = operation_id
        audit.record(replace(action, mode=mode), outcome, cause, error, **extra)
        for rule in action.rules:
            metrics.count_remediation(rule, outcome, mode)
        return ActionOutcome(action, outcome, error, retryable, operation_id)


def _refused_while_busy(call: Call) -> bool:
    """Managed Flink refuses its writes (tags too: ResourceInUseException) while the app is in a
    transitional status such as the UPDATING our own change started."""
    return call.versioned or call.service == "kinesisanalyticsv2"


def _update_of(action: Action) -> Call:
    return next(c for c in action.calls if c.versioned and c.operation == "UpdateApplication")


def _update_only(merged: Action, parts: tuple[Action, ...]) -> Action:
    """What to send again for `parts` of a rejected merged action: their UpdateApplication
    parameters merged (their other calls were already sent)."""
    update = merged_call([_update_of(p) for p in parts])
    if len(parts) == 1:
        return replace(parts[0], calls=(update,))
    return replace(
        merged,
        rules=tuple(r for p in parts for r in p.rules),
        drifts=tuple(d for p in parts for d in p.drifts),
        calls=(update,),
        parts=parts,
    )


def _new_version(response: Mapping[str, Any], previous: int) -> int:
    if "ApplicationVersionId" in response:
        return int(response["ApplicationVersionId"])
    detail = response.get("ApplicationDetail")
    if isinstance(detail, Mapping) and "ApplicationVersionId" in detail:
        return int(detail["ApplicationVersionId"])
    return previous + 1
