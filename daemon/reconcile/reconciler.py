"""Reconcile one application: observe -> plan -> apply, re-planning on concurrent changes."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog

from daemon import errors
from daemon.apply.executor import ActionOutcome, Executor
from daemon.apply.notify import Notifier
from daemon.aws import Aws
from daemon.reconcile.approvals import with_approval
from daemon.reconcile.followup import Settled, settle_changes
from daemon.reconcile.listeners import TagInvalidation, ViolationMetrics
from daemon.reconcile.locks import ResourceLocks
from daemon.reconcile.observe import RoleIndex, describe, observe
from daemon.reconcile.plan import plan as make_plan
from daemon.reconcile.result import Listener, ReconcileResult
from daemon.reconcile.safeguards import POLL_SECONDS, Pending, Safeguards
from daemon.reconcile.tags import TagCache
from daemon.state import TRANSITIONAL_STATUSES, AppRef, Cause, Mode, Observed, Plan, WaiverRef
from daemon.telemetry import metrics
from daemon.vocabulary import Result
from remediations.base import AnyRule, RuleSettings

log = structlog.get_logger(__name__)

EnabledRules = Sequence[tuple[AnyRule, RuleSettings, Mode]]
# Given an app and its tags: the enabled rules with settings and mode, or why it is skipped.
Resolver = Callable[[AppRef, Mapping[str, str]], EnabledRules | str]
# Given an app, its tags and the wall clock: rule id -> the waiver in force for its drift.
WaiverLookup = Callable[[AppRef, Mapping[str, str], datetime], Mapping[str, WaiverRef]]
BUSY_RETRY_SECONDS = 30.0  # the app is in a transitional status someone else started


MAX_REPLANS = 3  # attempts when the app changed under us (stale version, busy, lost reply)


def no_waivers(_app: AppRef, _tags: Mapping[str, str], _now: datetime) -> Mapping[str, WaiverRef]:
    return {}


@dataclass(frozen=True)
class RuleSource:
    """What the desired state says of one app: its enabled rules (or why it is skipped) and
    the waivers in force for its drift (daemon/reconcile/rules.py builds both from the config)."""

    enabled: Resolver
    waivers: WaiverLookup = no_waivers


@dataclass(frozen=True)
class Reads:
    """Where a reconcile's reads may be answered from besides AWS: the inventory's role index
    (apps sharing a role) and the remembered tags (daemon/reconcile/tags.py)."""

    role_index: RoleIndex | None = None
    tags: TagCache | None = None


class Reconciler:
    def __init__(
        self,
        aws_for: Callable[[AppRef], Aws],
        rules: Resolver | RuleSource,
        dry_run: bool = False,
        reads: Reads | None = None,
        safeguards: Safeguards | None = None,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self._aws_for = aws_for
        self._rules = rules if isinstance(rules, RuleSource) else RuleSource(rules)
        self._dry_run = dry_run
        self._reads = reads or Reads()
        # Backoffs, the fight budget, changes in progress, deferrals, announcements, and the
        # one wall clock (disruption windows too).
        self.safeguards = safeguards or Safeguards()
        tags = self._reads.tags
        # Told after each reconcile: violation metrics always, the tag cache when there is one.
        self._listeners: tuple[Listener, ...] = (
            ViolationMetrics(),
            *((TagInvalidation(tags),) if tags is not None else ()),
            *listeners,
        )
        # Announces alert-only findings; what was announced is remembered by the safeguards.
        self._notifier = Notifier(self.safeguards)
        self._resource_locks = ResourceLocks()  # shared resources: one writer at a time

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
            for listener in self._listeners:
                listener.reconciled(result, cause)
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
        self.safeguards.load(app)  # the app's state from the store (a sweep prefetched it)
        executor = Executor(aws, self._notifier, self._dry_run, ledger=self.safeguards)
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
        """Observe, plan, apply; again on a concurrent change, at most MAX_REPLANS times."""
        last_error = ""
        for attempt in range(1, MAX_REPLANS + 1):
            try:
                return self._attempt(app, cause, aws, executor, pre_read, attempt)
            except errors.ReplanNeeded as exc:
                last_error = str(exc)
                log.info("reconcile_replanned", attempt=attempt, reason=last_error)
            except errors.ApplicationGone as exc:
                self.safeguards.forget(app)
                return ReconcileResult(app, "gone", error=str(exc))
            except errors.PermanentAwsError as exc:
                return ReconcileResult(app, "error", error=str(exc))
            except errors.RetryableAwsError as exc:
                return ReconcileResult(app, "error", error=str(exc), retryable=True)
        return ReconcileResult(app, "error", error=last_error, retryable=True)

    def _attempt(
        self,
        app: AppRef,
        cause: Cause,
        aws: Aws,
        executor: Executor,
        pre_read: Mapping[str, Any] | None,
        attempt: int,
    ) -> ReconcileResult:
        # Only an event's first attempt may use remembered tags (tags.py says why).
        fresh = cause.trigger != "event" or attempt > 1
        first = pre_read if attempt == 1 else None
        detail, tags = describe(aws, app, first, self._reads.tags, fresh)
        rules = self._rules.enabled(app, tags)
        if isinstance(rules, str):
            return ReconcileResult(app, "skipped", error=rules, detail=detail)
        fingerprints = {r.id: s.model_dump_json() for r, s, _ in rules}
        settled = settle_changes(app, detail, aws, self.safeguards, executor, fingerprints)
        if settled.retry_after_seconds or detail.get("ApplicationStatus") in TRANSITIONAL_STATUSES:
            return waiting(app, settled, detail)
        readers = [(r, s) for r, s, _ in rules]
        role_index = self._reads.role_index
        now = self.safeguards.now()
        waived = self._rules.waivers(app, tags, now)

        def decide(fresh: bool = False) -> tuple[Observed, Plan]:
            observed = observe(app, detail, tags, readers, aws, role_index, cause.reads, fresh)
            hold = self._holds(app, rules, observed.version_id, fingerprints, cause)
            planned = make_plan(observed, rules, now, hold, waived)
            return observed, self.safeguards.hold_restarts(planned)

        observed, plan = decide()
        shared = () if self._dry_run else _shared_resources(plan)
        with self._resource_locks.holding(shared):
            if shared:
                # Another app's reconcile may just have fixed this shared resource: decide on
                # a fresh read, under the lock.
                observed, plan = decide(fresh=True)
            # Restarting fixes awaiting approval: released by a valid one (used here, once).
            plan = with_approval(plan, self.safeguards, self._dry_run)
            _log_drifts(plan)
            # A write whose reply was lost in an earlier round: this fresh plan tells.
            outcomes = (
                self._verified(plan, settled.succeeded, executor)
                + executor.confirm(plan)
                + executor.execute(plan, cause)
            )
        self._after_execute(app, plan, outcomes, executor, cause)
        self.safeguards.record_deferrals(app, plan.actions, [r.id for r, _, _ in rules])
        checked = tuple(r.id for r, _, _ in rules)
        return result_of(app, plan, settled.outcomes + outcomes, observed.detail, checked)

    def _holds(
        self,
        app: AppRef,
        rules: EnabledRules,
        version: int,
        fingerprints: Mapping[str, str],
        cause: Cause,
    ) -> Callable[[str], str]:
        """Why a rule's fix must wait ("" if it may run), as the safeguards answer. Asked per
        rule before merging, only for rules with a fix."""
        modes = {r.id: m for r, _, m in rules}

        def hold(rule: str) -> str:
            return self.safeguards.check(
                app,
                rule,
                version=version,
                settings=fingerprints.get(rule, ""),
                actor=cause.actor,
                budgeted=not self._dry_run and modes.get(rule) == "enforce",
            ).reason

        return hold

    @staticmethod
    def _verified(
        plan: Plan, succeeded: tuple[Pending, ...], executor: Executor
    ) -> tuple[ActionOutcome, ...]:
        """Changes whose operation succeeded: `applied` for the drifts the fresh plan no longer
        finds (what is left is planned again: the next step of a several-call fix). A change
        whose drifts are all back while the app moved past the version our change made was
        undone by someone else after it succeeded: applied too (and charged to the fight
        budget by the caller), so a fast undo is a fight like any other."""
        remaining = {(d.rule, d.field, d.resource) for d in plan.drifts}
        out = []
        for change in succeeded:
            gone = tuple(
                d for d in change.action.drifts if (d.rule, d.field, d.resource) not in remaining
            )
            verified = "operation SUCCESSFUL and state re-read"
            if not gone and 0 < change.version_after < plan.version_id:
                gone = change.action.drifts
                verified = f"operation SUCCESSFUL; undone since (version {plan.version_id})"
            if gone:
                action = replace(change.action, drifts=gone)
                out.append(
                    executor.record(
                        action,
                        "applied",
                        change.cause,
                        operation_id=change.operation_id,
                        # a dead sender's write is confirmed by what the re-read shows now
                        **({"confirmed": "state re-read"} if change.adopted else {}),
                        verified=verified,
                    )
                )
            elif change.adopted:  # a dead sender's write that the re-read shows did nothing
                error = "its sender stopped; the re-read shows the drift still there"
                out.append(executor.record(change.action, "failed", change.cause, error))
        return tuple(out)

    def _after_execute(
        self,
        app: AppRef,
        plan: Plan,
        outcomes: tuple[ActionOutcome, ...],
        executor: Executor,
        cause: Cause,
    ) -> None:
        """Follow the changes still in progress; count the fixes that succeeded."""
        now = self.safeguards.now()
        for outcome in outcomes:
            if outcome.outcome == "pending":
                pending = Pending(
                    outcome.action,
                    cause,
                    outcome.operation_id,
                    plan.version_id,
                    now,
                    version_after=executor.version_after,
                    write_id=outcome.write_id,
                )
                self.safeguards.record_pending(pending)
            elif outcome.outcome == "applied" and not self._dry_run:
                for rule in outcome.action.rules:
                    self.safeguards.record_applied(app, rule)
        if executor.version_after != plan.version_id:
            self.safeguards.moved_by_us(app, executor.version_after)


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


def waiting(app: AppRef, settled: Settled, detail: Mapping[str, Any]) -> ReconcileResult:
    """A change is still in progress (ours, or someone's): never wait in a worker, look again
    later."""
    delay = settled.retry_after_seconds or BUSY_RETRY_SECONDS
    why = f"{detail.get('ApplicationStatus')}: looking again in {delay:.0f} s"
    return ReconcileResult(
        app,
        "skipped",
        outcomes=settled.outcomes,
        error=why,
        detail=detail,
        retry_after_seconds=delay,
    )


def result_of(
    app: AppRef,
    plan: Plan,
    outcomes: tuple[ActionOutcome, ...],
    detail: Mapping[str, Any],
    rules: tuple[str, ...] = (),
) -> ReconcileResult:
    """The result of carrying out `plan`: error if a change failed, was rolled back or stopped
    the application, retry while one is being applied, fixed, else drift or in sync."""
    failed = [o for o in outcomes if o.outcome in ("failed", "rolled_back", "stopped")]
    delay = POLL_SECONDS if any(o.outcome == "pending" for o in outcomes) else 0.0
    if failed:
        return ReconcileResult(
            app,
            "error",
            plan=plan,
            outcomes=outcomes,
            error="; ".join(o.error for o in failed),
            retryable=any(o.retryable for o in failed),
            detail=detail,
            retry_after_seconds=delay,
            rules=rules,
        )
    done = any(o.outcome == "applied" for o in outcomes) and not delay
    result: Result = "fixed" if done else "drift" if plan.drifts else "in_sync"
    return ReconcileResult(
        app,
        result,
        plan=plan,
        outcomes=outcomes,
        detail=detail,
        retry_after_seconds=delay,
        rules=rules,
    )
