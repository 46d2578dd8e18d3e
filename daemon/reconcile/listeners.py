"""The listeners told after a reconcile: violation metrics, verdicts (evidence), the tag cache
and the inventory. Each reacts to the result; none can change or fail the reconcile."""

from __future__ import annotations

import structlog

from daemon.apply.executor import ActionOutcome
from daemon.reconcile.inventory import AppFacts, Inventory
from daemon.reconcile.result import Listener, ReconcileResult
from daemon.reconcile.tags import TAG_EVENTS, TagCache
from daemon.reconcile.verdicts import VerdictSink, verdict_for
from daemon.state import Cause
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)

SENT = ("applied", "failed", "pending", "rolled_back", "stopped")  # a write went out (or may have)


class ViolationMetrics:
    """flink_remediator_violation_active per checked rule (a waived drift is not an open
    violation: flink_remediator_waived shows it); a deleted app's series go."""

    def reconciled(self, result: ReconcileResult, cause: Cause) -> None:
        if result.result == "gone":
            metrics.forget_application(result.app)
        open_drift = result.violated - result.waived
        for rule in result.rules:
            metrics.set_violation(result.app, rule, rule in open_drift)


class Verdicts:
    """Each checked rule's verdict, to evidence (Security Hub, the audit report)."""

    def __init__(self, sink: VerdictSink) -> None:
        self._sink = sink

    def reconciled(self, result: ReconcileResult, cause: Cause) -> None:
        for rule in result.rules:
            violated = rule in result.violated
            try:
                self._sink.record(verdict_for(result.app, rule, violated, result.outcomes, cause))
            except Exception as exc:  # evidence must never fail a reconcile
                log.error("verdict_record_failed", rule=rule, error=str(exc))


class TagInvalidation:
    """Our own tag writes are ignored by intake: forget the remembered tags they changed; a
    deleted app's tags go."""

    def __init__(self, tags: TagCache) -> None:
        self._tags = tags

    def reconciled(self, result: ReconcileResult, cause: Cause) -> None:
        if result.result == "gone":
            self._tags.discard(result.app)
        elif _wrote_tags(result.outcomes):
            self._tags.forget([result.app])


class InventoryUpdate:
    """Keep the inventory current with what the reconcile read; forget a deleted app."""

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory

    def reconciled(self, result: ReconcileResult, cause: Cause) -> None:
        if result.result == "gone":
            self._inventory.forget(result.app)
        elif result.detail is not None:
            self._inventory.update(result.app, AppFacts.from_detail(result.detail))


def _wrote_tags(outcomes: tuple[ActionOutcome, ...]) -> bool:
    return any(
        call.operation in TAG_EVENTS
        for o in outcomes
        if o.outcome in SENT
        for call in o.action.calls
    )


def verdicts_to(sink: VerdictSink | None) -> tuple[Listener, ...]:
    """The listener that hands verdicts to `sink`, or none without a sink."""
    return (Verdicts(sink),) if sink is not None else ()
