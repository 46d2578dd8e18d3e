"""Safeguards: the one object in front of every fix, and the memory of what fixes did.

Before a fix it answers per (application, rule): go, or hold because of a backoff (the last fix
did not hold) or the fight budget; for changes still in progress, how soon to look again.
After a reconcile it records outcomes: a change pending, applied (charged to the fight budget),
failed, rolled back or stopped (backed off), fixes deferred to a window, alerts announced and
Security Hub findings recorded. Everything runs on one injected wall clock and every record is a
plain frozen dataclass (records.py), so a state store can keep them outside the process.

Only this facade is imported from outside the package (an import-linter contract).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.reconcile.safeguards._budget import FixBudget
from daemon.reconcile.safeguards._deferred import DeferredFixes
from daemon.reconcile.safeguards._followups import POLL_SECONDS, FollowUps
from daemon.reconcile.safeguards._memory import Announcements, Findings
from daemon.reconcile.safeguards.records import (
    Backoff,
    Check,
    FindingRecord,
    Pending,
    WallClock,
    utc_now,
)
from daemon.state import Action, AppRef

__all__ = [
    "POLL_SECONDS",
    "Backoff",
    "BudgetSettings",
    "Check",
    "FindingRecord",
    "Pending",
    "Safeguards",
    "WallClock",
]

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
    ) -> None:
        self._clock = clock
        self._budget = FixBudget(budget.limit, budget.window_seconds, clock) if budget else None
        self._follow_ups = FollowUps(clock, first_backoff_seconds, max_backoff_seconds)
        self._deferred = DeferredFixes()
        self._announcements = Announcements()
        self._findings = Findings()

    def now(self) -> datetime:
        """The one wall clock of every safeguard (and of disruption windows)."""
        return self._clock()

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

    def due(self, now: datetime | None = None) -> list[AppRef]:
        """Applications whose window has opened by `now`: submit each for a reconcile."""
        return self._deferred.due(now or self.now())

    def forget(self, app: AppRef) -> None:
        """The application is gone."""
        self._deferred.forget(app)

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
