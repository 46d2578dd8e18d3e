"""The fix budget (private to `Safeguards`): how the daemon notices it is fighting another actor.

If something keeps undoing a fix, fixing it again forever only churns versions and hides the
conflict. Past `limit` fixes of one (application, rule) within `window_seconds`, the daemon stops
fixing that pair, says who it is fighting, and raises the fight gauge until the window passes.
The charges are kept in the application's state in the store: a restart does not reset them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from daemon.reconcile.safeguards._states import AppStates
from daemon.reconcile.safeguards.records import AppState, FixCharges, WallClock
from daemon.state import AppRef
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)


class FixBudget:
    def __init__(
        self, states: AppStates, limit: int, window_seconds: float, clock: WallClock
    ) -> None:
        self._states = states
        self._limit = limit
        self._window_seconds = window_seconds
        self._window = timedelta(seconds=window_seconds)
        self._clock = clock

    def allows(self, app: AppRef, rule: str, actor: str = "") -> bool:
        """May `rule` fix `app` now? Counts nothing: `charge` once the fix succeeded (a fix
        that failed or was rolled back is not a fight)."""
        entry = self._current(self._states.get(app), rule, self._clock())
        if actor:
            entry = replace(entry, last_actor=actor)
        if len(entry.times) < self._limit:
            self._store(app, rule, self._ended(app, rule, entry))
            return True
        if not entry.fighting:
            entry = replace(entry, fighting=True)
        metrics.set_fight(app, rule, True)
        self._store(app, rule, entry)
        log.warning(
            "fight_detected",
            app=app.name,
            account=app.account,
            region=app.region,
            rule=rule,
            actor=entry.last_actor or "unknown",
            fixes=len(entry.times),
            window_seconds=self._window_seconds,
        )
        return False

    def charge(self, app: AppRef, rule: str) -> None:
        """A fix of `rule` on `app` succeeded: it counts toward the budget."""
        now = self._clock()

        def add(state: AppState) -> AppState:
            entry = self._current(state, rule, now)
            entry = replace(entry, times=(*entry.times, now))
            return replace(state, charges={**state.charges, rule: entry})

        self._states.change(app, add)

    def expire(self) -> None:
        """Clear fights whose window has passed (called periodically, e.g. by sweeps)."""
        now = self._clock()
        for app, state in self._states.cached():
            for rule, entry in state.charges.items():
                if entry.fighting:
                    current = self._current(state, rule, now)
                    if len(current.times) < self._limit:
                        self._store(app, rule, self._ended(app, rule, current))

    def _store(self, app: AppRef, rule: str, entry: FixCharges) -> None:
        def put(state: AppState) -> AppState:
            charges = {r: e for r, e in state.charges.items() if r != rule}
            if entry.times or entry.fighting:
                charges[rule] = entry
            return replace(state, charges=charges)

        self._states.change(app, put)

    def _current(self, state: AppState, rule: str, now: datetime) -> FixCharges:
        entry = state.charges.get(rule, FixCharges())
        return replace(entry, times=tuple(t for t in entry.times if t > now - self._window))

    @staticmethod
    def _ended(app: AppRef, rule: str, entry: FixCharges) -> FixCharges:
        if entry.fighting:
            metrics.set_fight(app, rule, False)
            log.info("fight_ended", app=app.name, rule=rule)
        return replace(entry, fighting=False)
