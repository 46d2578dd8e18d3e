"""Safeguards: the one object in front of every fix, and the memory of what fixes did.

Before a fix it answers per (application, rule): go, or hold because of a backoff (the last fix
did not hold) or the fight budget; for changes still in progress, how soon to look again.
After a reconcile it records outcomes: a change pending, applied (charged to the fight budget),
failed, rolled back or stopped (backed off), fixes deferred to a window, alerts announced and
Security Hub findings recorded. Everything runs on one injected wall clock and every record is a
plain frozen dataclass (records.py), kept per application in a state store (daemon/store: in
memory for one-shot commands, DynamoDB for the daemon), so restarts and replicas share them.
When the store cannot be read, restarting fixes are held (`hold_restarts`). The ledger of the
daemon's own writes (`record_write`, `record_sent`, `own_write`) lets a write whose sender died
be confirmed by the next process; `claim_outcome` lets exactly one process record each outcome.

Only this facade is imported from outside the package (an import-linter contract).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from daemon.reconcile.safeguards._approvals import Approval, Approvals
from daemon.reconcile.safeguards._budget import FixBudget
from daemon.reconcile.safeguards._deferred import DeferredFixes, Place
from daemon.reconcile.safeguards._followups import POLL_SECONDS, FollowUps
from daemon.reconcile.safeguards._ledger import Ledger
from daemon.reconcile.safeguards._memory import Announcements, Findings
from daemon.reconcile.safeguards._states import AppStates
from daemon.reconcile.safeguards.records import (
    Backoff,
    Check,
    FindingRecord,
    OwnWrite,
    Pending,
    SentWrite,
    WallClock,
    utc_now,
)
from daemon.state import Action, AppRef, Cause, Plan
from daemon.store import StateStore
from daemon.store.memory import MemoryStore

__all__ = [
    "POLL_SECONDS",
    "Approval",
    "Backoff",
    "BudgetSettings",
    "Check",
    "FindingRecord",
    "OwnWrite",
    "Pending",
    "Place",
    "Safeguards",
    "SentWrite",
    "WallClock",
]

STORE_HOLD = "hold: state store unavailable"
FIRST_BACKOFF_SECONDS = 3600.0
MAX_BACKOFF_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class BudgetSettings:
    """At most `limit` successful fixes of one (app, rule) within `window_seconds`."""

    limit: int
    window_seconds: float


class Safeguards:
    def __init__(
        self,
        clock: WallClock = utc_now,
        budget: BudgetSettings | None = None,
        first_backoff_seconds: float = FIRST_BACKOFF_SECONDS,
        max_backoff_seconds: float = MAX_BACKOFF_SECONDS,
        store: StateStore | None = None,
    ) -> None:
        self._clock = clock
        states = self._states = AppStates(store or MemoryStore(clock), clock)
        self._budget = (
            FixBudget(states, budget.limit, budget.window_seconds, clock) if budget else None
        )
        self._follow_ups = FollowUps(states, clock, first_backoff_seconds, max_backoff_seconds)
        self._deferred = DeferredFixes(states, clock)
        self._announcements = Announcements(states)
        self._findings = Findings(states)
        self._ledger = Ledger(states, clock)
        self._approvals = Approvals(states.store)

    def now(self) -> datetime:
        """The one wall clock of every safeguard (and of disruption windows)."""
        return self._clock()

    # The store.

    @property
    def store_name(self) -> str:
        return self._states.store.name

    def store_available(self) -> bool:
        """Did the last call to the state store succeed? (/readyz)"""
        return self._states.available

    def probe_store(self) -> bool:
        return self._states.probe()

    def prefetch(self, apps: Sequence[AppRef]) -> None:
        """Read the state of many applications at once (a sweep: 100 per call)."""
        self._states.prefetch(apps)

    def load(self, app: AppRef) -> None:
        """Read the application's state (first thing in every reconcile)."""
        self._states.load(app)

    def hold_restarts(self, plan: Plan) -> Plan:
        """Without the application's state (the store did not answer) nobody knows whether a
        restarting fix is backing off: hold every restarting fix; the others go on."""
        if not self._states.unknown(plan.app):
            return plan
        actions = tuple(
            replace(a, held="skipped", reason=STORE_HOLD)
            if a.restarts and a.held is None and not a.alert_only and a.mode == "enforce"
            else a
            for a in plan.actions
        )
        return replace(plan, actions=actions)

    # Before a fix.

    def check(
        self,
        app: AppRef,
        rule: str,
        *,
        version: int = 0,
        settings: str = "",
        actor: str = "",
        budgeted: bool = True,
    ) -> Check:
        """May `rule` fix `app` now? `settings`: the rule's settings now (a backoff remembers
        them); `budgeted`: the fix would be made (enforce, not a dry-run), so the fight budget
        applies."""
        backoff = self._follow_ups.backing_off(app, rule, version, settings)
        if backoff is not None:
            if backoff.until is None:
                return Check("backing off until the application or the rule's settings change")
            left = max((backoff.until - self.now()).total_seconds(), 0.0)
            return Check(f"backing off for {left / 60:.0f} min: the last fix did not hold")
        if budgeted and not self.within_budget(app, rule, actor):
            return Check("fix budget exhausted")
        return Check()

    def within_budget(self, app: AppRef, rule: str, actor: str = "") -> bool:
        """Is the fight budget of (app, rule) not spent? (Says who is fought when it is.)"""
        return self._budget is None or self._budget.allows(app, rule, actor)

    def backing_off(self, app: AppRef, rule: str, version: int, settings: str) -> Backoff | None:
        return self._follow_ups.backing_off(app, rule, version, settings)

    # Changes in progress.

    def pending(self, app: AppRef) -> tuple[Pending, ...]:
        return self._follow_ups.pending(app)

    def keep_pending(self, app: AppRef, still: tuple[Pending, ...]) -> float:
        """The changes of `app` still in progress (the others are settled): retry after how
        many seconds (0: none left)."""
        return self._follow_ups.replace_pending(app, still)

    def settle_pending(
        self, app: AppRef, finished: Sequence[Pending], still: tuple[Pending, ...]
    ) -> tuple[tuple[Pending, ...], float]:
        """Remove `finished` changes and keep `still` pending: the finished ones this process
        removed (another replica may have settled some first: only the remover records an
        outcome), and how soon to look again."""
        return self._follow_ups.settle(app, finished, still)

    # The ledger of the daemon's own writes.

    def record_write(self, action: Action, cause: Cause, version: int) -> str:
        """Before `action`'s calls are sent: its ledger entry (the write id)."""
        return self._ledger.sending(action, cause, version)

    def record_sent(
        self,
        action: Action,
        write_id: str,
        request_ids: tuple[str, ...],
        operation_id: str | None,
        version_after: int,
    ) -> None:
        """The reply is in: the entry leaves the app's state (a change in progress becomes
        pending) and each request id is kept for `own_write`."""
        self._ledger.wrote(action, write_id, request_ids, operation_id, version_after)

    def claim_outcome(self, write_id: str) -> bool:
        """Record the outcome of write `write_id` here? True for the one process that claims it
        first in the store (the sender, or a replica that took the write over); True for ""."""
        return self._ledger.claim_outcome(write_id)

    def own_write(self, request_id: str) -> OwnWrite | None:
        """The daemon's own write with this AWS request id (CloudTrail's requestID), if any."""
        return self._ledger.own_write(request_id)

    def orphaned_writes(self, app: AppRef) -> tuple[SentWrite, ...]:
        """Writes recorded but never settled by a process that is not sending them now."""
        return self._ledger.orphans(self._states.get(app))

    def write_settling_for(self, write: SentWrite) -> float:
        """Seconds another process may still be recording `write`'s reply (0: orphaned)."""
        return self._ledger.settling_for(write)

    def write_given_up(self, write: SentWrite) -> bool:
        """Old enough that its sender, if alive, would have settled it."""
        return self._ledger.expired(write)

    def adopt_write(self, app: AppRef, write: SentWrite, pending: Pending | None) -> bool:
        """Take over an orphaned write: as `pending` (to follow), or settled (None). False
        when another process took it first."""
        return self._follow_ups.adopt(app, write.write_id, pending)

    # After a fix.

    def record_pending(self, pending: Pending) -> None:
        self._follow_ups.remember(pending)

    def record_applied(self, app: AppRef, rule: str) -> None:
        """A fix held: charged to the fight budget; the next failure backs off from the start."""
        if self._budget is not None:
            self._budget.charge(app, rule)
        self._follow_ups.succeeded(app, rule)

    def record_failed(
        self, app: AppRef, rule: str, *, version: int, settings: str, stopped: bool = False
    ) -> Backoff:
        """A fix failed or was rolled back (`stopped`: it left the app stopped): back off."""
        return self._follow_ups.back_off(app, rule, version, settings, forever=stopped)

    def moved_by_us(self, app: AppRef, version: int) -> None:
        """Our own change moved the app to `version`: not a reason to end its backoffs."""
        self._follow_ups.moved_by_us(app, version)

    def expire_fights(self) -> None:
        """Clear fights whose window has passed (called periodically, by sweeps)."""
        if self._budget is not None:
            self._budget.expire()

    # Fixes deferred to a window.

    def record_deferrals(
        self, app: AppRef, actions: Sequence[Action], checked: Sequence[str]
    ) -> None:
        self._deferred.record(app, actions, checked)

    def next_opening(self, app: AppRef) -> datetime | None:
        return self._deferred.next_opening(app)

    def due(self, places: Iterable[Place], now: datetime | None = None) -> list[AppRef]:
        """Applications of `places` (account, Region) whose window has opened by `now`, read
        from the store and claimed for this process: submit each for a reconcile. Another
        replica that claimed the same opening gets nothing, so the fix is made once."""
        return self._deferred.due(places, now or self.now())

    def forget(self, app: AppRef) -> None:
        """The application is gone."""
        self._deferred.forget(app)

    # Timers every replica keeps.

    def claim(self, key: str, seconds: float) -> bool:
        """Fire the timer `key` here? True for the one replica that claims it first (for
        `seconds`). Without the store it fires: a reconcile is safe twice, and it holds
        restarting fixes itself while the store is down."""
        return self._states.claim(key, seconds)

    # What was told outside.

    def announced(self, app: AppRef, rules: Iterable[str], findings: frozenset[str]) -> bool:
        return self._announcements.known(app, rules, findings)

    def record_announced(self, app: AppRef, rules: Iterable[str], findings: frozenset[str]) -> None:
        self._announcements.remember(app, rules, findings)

    def forget_cleared(self, app: AppRef, still_alerted: Iterable[str]) -> None:
        """Rules no longer alerted are clear: a violation that comes back is announced again."""
        self._announcements.forget_cleared(app, still_alerted)

    def last_finding(self, app: AppRef, rule: str) -> FindingRecord | None:
        return self._findings.last(app, rule)

    def record_finding(self, record: FindingRecord) -> None:
        self._findings.record(record)

    # Approvals of restarting fixes (`flink-remediator approve`).

    def approval_for(self, app: AppRef) -> Approval | None:
        """The application's latest approval, in whatever state (raises StoreUnavailable)."""
        return self._approvals.current(app)

    def record_approval(self, approval: Approval) -> Approval:
        return self._approvals.record(approval)

    def consume_approval(self, approval: Approval) -> bool:
        """Use the approval (once): False when another replica used or replaced it first."""
        return self._approvals.settle(approval, "used", self.now(), "")

    def refuse_approval(self, approval: Approval, reason: str) -> bool:
        """A stale approval: never used; False when another replica settled it first."""
        return self._approvals.settle(approval, "refused", self.now(), reason)
