"""Carry out a saved plan (`apply --plan-file`) and follow its restarting fixes to their end.

`apply` runs each application's plan as it was saved (no new planning); `again` is the follow
step of daemon/commands/follow.py for a saved plan: it settles the changes still being applied
(daemon/reconcile/followup.py, as the reconciler's first step does) and never plans anything
new. So `apply --plan-file` reports and exits as `apply --config` does: applied, failed, rolled
back, or still applying when `--wait-seconds` runs out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from daemon import errors
from daemon.apply.executor import Executor
from daemon.apply.notify import Notifier
from daemon.aws import Aws
from daemon.reconcile.followup import settle_changes
from daemon.reconcile.observe import describe
from daemon.reconcile.reconciler import result_of, waiting
from daemon.reconcile.result import ReconcileResult
from daemon.reconcile.safeguards import Pending, Safeguards
from daemon.state import TRANSITIONAL_STATUSES, AppRef, Cause, Plan

CAUSE = Cause("cli")


class SavedPlanApply:
    def __init__(
        self,
        plans: Mapping[AppRef, Plan],
        aws_for: Callable[[AppRef], Aws],
        safeguards: Safeguards | None = None,
    ) -> None:
        self._plans, self._aws_for = plans, aws_for
        self._safeguards = safeguards or Safeguards()
        self._notifier = Notifier(self._safeguards)
        self._executors: dict[AppRef, Executor] = {}
        self._lock = threading.Lock()

    def apply(self, app: AppRef) -> ReconcileResult:
        """Carry out the plan of `app` as saved; a change still being applied is followed."""
        plan = self._plans[app]
        executor = Executor(self._aws_for(app), self._notifier)
        with self._lock:
            self._executors[app] = executor
        try:
            outcomes = executor.execute(plan, CAUSE)
        except errors.ReplanNeeded as exc:
            executor.give_up_unconfirmed()  # nothing is re-planned: a lost reply stays unknown
            return ReconcileResult(app, "error", plan=plan, error=f"changed while applying: {exc}")
        started = self._safeguards.now()
        for outcome in outcomes:
            if outcome.outcome == "pending":
                self._safeguards.record_pending(
                    Pending(outcome.action, CAUSE, outcome.operation_id, plan.version_id, started)
                )
        return result_of(app, plan, outcomes, {})

    def again(self, app: AppRef) -> ReconcileResult:
        """What became of the changes of `app` still being applied (nothing is planned)."""
        aws, plan = self._aws_for(app), self._plans[app]
        with self._lock:
            executor = self._executors[app]
        try:
            detail, _ = describe(aws, app)
            settled = settle_changes(app, detail, aws, self._safeguards, executor, {})
        except errors.AwsError as exc:  # the changes stay reported as being applied
            retryable = isinstance(exc, errors.RetryableAwsError)
            return ReconcileResult(app, "error", error=str(exc), retryable=retryable)
        if settled.retry_after_seconds or detail.get("ApplicationStatus") in TRANSITIONAL_STATUSES:
            return waiting(app, settled, detail)
        applied = tuple(
            executor.record(
                change.action,
                "applied",
                change.cause,
                operation_id=change.operation_id,
                verified="operation SUCCESSFUL",
            )
            for change in settled.succeeded
        )
        return result_of(app, plan, settled.outcomes + applied, detail)
