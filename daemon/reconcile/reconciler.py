"""Reconcile one application: observe -> plan -> apply, re-planning on concurrent changes."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from daemon import errors
from daemon.apply.executor import ActionOutcome, Executor, Guard
from daemon.apply.notify import Notifier
from daemon.aws import Aws
from daemon.reconcile.locks import ResourceLocks
from daemon.reconcile.observe import RoleIndex, describe, observe
from daemon.reconcile.plan import plan as make_plan
from daemon.reconcile.verdicts import VerdictSink, verdict_for
from daemon.state import TRANSITIONAL_STATUSES, AppRef, Cause, Mode, Plan
from daemon.telemetry import metrics
from daemon.vocabulary import Next, Result
from remediations.base import AnyRule, RuleSettings

log = structlog.get_logger(__name__)

EnabledRules = Sequence[tuple[AnyRule, RuleSettings, Mode]]
# Given an app and its tags: the enabled rules with settings and mode, or why it is skipped.
Resolver = Callable[[AppRef, Mapping[str, str]], EnabledRules | str]


@dataclass(frozen=True)
class ReconcileResult:
    app: AppRef
    result: Result
    plan: Plan | None = None
    outcomes: tuple[ActionOutcome, ...] = ()
    error: str = ""
    # True when a later attempt may succeed: the triggering message must not be acknowledged.
    retryable: bool = False
    detail: Mapping[str, Any] | None = None  # the last DescribeApplication, for the inventory
    # How soon a retry makes sense (a transitional status, an operation to follow, a backoff).
    retry_after_seconds: float = 0.0

    @property
    def next(self) -> Next:
        """What the caller does next, as in controller-runtime: `done` (acknowledge), `retry`
        (reconcile again after retry_after_seconds; never acknowledged as done), `terminal`
        (acknowledge and leave the violation raised: retrying cannot help)."""
        if self.result != "error":
            return "done"
        return "retry" if self.retryable else "terminal"


class Reconciler:
    def __init__(
        self,
        aws_for: Callable[[AppRef], Aws],
        resolver: Resolver,
        dry_run: bool = False,
        guard: Guard | None = None,
        max_replans: int = 3,
        settle_timeout_seconds: float = 120.0,
        role_index: RoleIndex | None = None,
        notifier: Notifier | None = None,
        verdicts: VerdictSink | None = None,
    ) -> None:
        self._verdicts = verdicts  # evidence (Security Hub, report): told each rule's verdict
        # Remembers what was announced across reconciles: one per reconciler, shared by its
        # per-reconcile executors.
        self._notifier = notifier or Notifier()
        self._role_index = role_index
        self._resource_locks = ResourceLocks()  # shared resources: one writer at a time
        self._aws_for = aws_for
        self._resolver = resolver
        self._dry_run = dry_run
        self._guard = guard
        self._max_replans = max_replans
        self._settle_timeout = settle_timeout_seconds

    def reconcile(
        self, app: AppRef, cause: Cause, detail: Mapping[str, Any] | None = None
    ) -> ReconcileResult:
        """`detail`: a DescribeApplication the caller just read (else the pass's, from
        `cause.reads`), used as the first attempt's observation instead of describing again."""
        started = time.monotonic()
        if detail is None and cause.reads is not None:
            detail = cause.reads.take_detail(app)
        # Every log line of this reconcile (here, in the executor, in the audit trail) carries
        # the application; contextvars are per thread, so parallel workers do not mix them.
        with structlog.contextvars.bound_contextvars(
            app=app.name, account=app.account, region=app.region
        ):
            result = self._reconcile(app, cause, detail)
            metrics.count_reconcile(cause.trigger, result.result)
            log.info(
                "reconcile_finished",
                result=result.result,
                trigger=cause.trigger,
                drifts=len(result.plan.drifts) if result.plan else 0,
                seconds=round(time.monotonic() - started, 3),
                **({"error": result.error} if result.error else {}),
            )
        return result

    def _reconcile(
        self, app: AppRef, cause: Cause, pre_read: Mapping[str, Any] | None
    ) -> ReconcileResult:
        aws = self._aws_for(app)
        executor = Executor(aws, self._notifier, self._dry_run, self._guard, self._settle_timeout)
        try:
            return self._replan_loop(app, cause, aws, executor, pre_read)
        finally:
            executor.give_up_unconfirmed()

    def _replan_loop(
        self,
        app: AppRef,
        cause: Cause,
        aws: Aws,
        executor: Executor,
        pre_read: Mapping[str, Any] | None = None,
    ) -> ReconcileResult:
        last_error = ""
        for attempt in range(1, self._max_replans + 1):
            try:
                detail, tags = describe(aws, app, pre_read if attempt == 1 else None)
                rules = self._resolver(app, tags)
                if isinstance(rules, str):
                    return ReconcileResult(app, "skipped", error=rules, detail=detail)
                if detail.get("ApplicationStatus") in TRANSITIONAL_STATUSES:
                    executor.wait_until_settled(app)
                    detail, tags = describe(aws, app)
                readers = [(r, s) for r, s, _ in rules]
                observed = observe(app, detail, tags, readers, aws, self._role_index, cause.reads)
                plan = make_plan(observed, rules)
                shared = () if self._dry_run else _shared_resources(plan)
                with self._resource_locks.holding(shared):
                    if shared:
                        # Another app's reconcile may just have fixed this shared resource:
                        # decide on a fresh read, under the lock.
                        observed = observe(
                            app, detail, tags, readers, aws, self._role_index, cause.reads
                        )
                        plan = make_plan(observed, rules)
                    _log_drifts(plan)
                    # A write whose reply was lost in an earlier round: this fresh plan tells.
                    outcomes = executor.confirm(plan) + executor.execute(plan, cause)
                self._update_violations(app, rules, outcomes, cause)
                return _result(app, plan, outcomes, observed.detail)
            except errors.ReplanNeeded as exc:
                last_error = str(exc)
                log.info("reconcile_replanned", attempt=attempt, reason=last_error)
            except errors.ApplicationGone as exc:
                metrics.forget_application(app)
                return ReconcileResult(app, "gone", error=str(exc))
            except errors.PermanentAwsError as exc:
                return ReconcileResult(app, "error", error=str(exc))
            except errors.RetryableAwsError as exc:
                return ReconcileResult(app, "error", error=str(exc), retryable=True)
        return ReconcileResult(app, "error", error=last_error, retryable=True)

    def _update_violations(
        self, app: AppRef, rules: EnabledRules, outcomes: tuple[ActionOutcome, ...], cause: Cause
    ) -> None:
        # Open = drift left in place: alert-only, dry-run, skipped or failed.
        left = {r for o in outcomes if o.outcome != "applied" for r in o.action.rules}
        for rule, _, _ in rules:
            metrics.set_violation(app, rule.id, rule.id in left)
            if self._verdicts is not None:
                try:
                    self._verdicts.record(
                        verdict_for(app, rule.id, rule.id in left, outcomes, cause)
                    )
                except Exception as exc:  # evidence must never fail a reconcile
                    log.error("verdict_record_failed", rule=rule.id, error=str(exc))


def _shared_resources(plan: Plan) -> tuple[str, ...]:
    """What an enforcing action would change besides the application itself (e.g. its role,
    which other applications use too)."""
    return tuple(
        sorted(
            {
                call.resource
                for action in plan.actions
                if not action.alert_only and action.mode == "enforce"
                for call in action.calls
                if call.resource and call.resource != plan.app.arn
            }
        )
    )


def _log_drifts(plan: Plan) -> None:
    for drift in plan.drifts:
        metrics.count_drifts(drift.rule)
        log.info(
            "drift_detected",
            rule=drift.rule,
            field=drift.field,
            current=drift.current,
            desired=drift.desired,
        )


def _result(
    app: AppRef, plan: Plan, outcomes: tuple[ActionOutcome, ...], detail: Mapping[str, Any]
) -> ReconcileResult:
    failed = [o for o in outcomes if o.outcome == "failed"]
    if failed:
        return ReconcileResult(
            app,
            "error",
            plan,
            outcomes,
            error="; ".join(o.error for o in failed),
            retryable=any(o.retryable for o in failed),
            detail=detail,
        )
    if any(o.outcome == "applied" for o in outcomes):
        return ReconcileResult(app, "fixed", plan, outcomes, detail=detail)
    return ReconcileResult(
        app, "drift" if plan.drifts else "in_sync", plan, outcomes, detail=detail
    )
