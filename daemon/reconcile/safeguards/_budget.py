"""The fix budget (private to `Safeguards`): how the daemon notices it is fighting another actor.

If something keeps undoing a fix, fixing it again forever only churns versions and hides the
conflict. Past `limit` fixes of one (application, rule) within `window_seconds`, the daemon stops
fixing that pair, says who it is fighting, and raises the fight gauge until the window passes.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from daemon.reconcile.safeguards.records import FixCharges, WallClock
from daemon.state import AppRef
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)


class FixBudget:
    def __init__(self, limit: int, window_seconds: float, clock: WallClock) -> None:
        self._limit = limit
        self._window_seconds = window_seconds
        self._window = timedelta(seconds=window_seconds)
        self._clock = clock
        self._charges: dict[tuple[AppRef, str], FixCharges] = {}
        self._lock = threading.Lock()

    def allows(self, app: AppRef, rule: str, actor: str = "") -> bool:
        """May `rule` fix `app` now? Counts nothing: `charge` once the fix succeeded (a fix
        that failed or was rolled back is not a fight)."""
        key = (app, rule)
        with self._lock:
            entry = self._current(key, self._clock())
            if actor:
                entry = replace(entry, last_actor=actor)
            if len(entry.times) < self._limit:
                self._charges[key] = self._ended(key, entry)
                return True
            if not entry.fighting:
                entry = replace(entry, fighting=True)
                metrics.set_fight(app, rule, True)
            self._charges[key] = entry
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
        with self._lock:
            entry = self._charges.get((app, rule), FixCharges())
            self._charges[(app, rule)] = replace(entry, times=(*entry.times, self._clock()))

    def expire(self) -> None:
        """Clear fights whose window has passed (called periodically, e.g. by sweeps)."""
        now = self._clock()
        with self._lock:
            for key in [k for k, e in self._charges.items() if e.fighting]:
                entry = self._current(key, now)
                if len(entry.times) < self._limit:
                    self._charges[key] = self._ended(key, entry)

    def _current(self, key: tuple[AppRef, str], now: datetime) -> FixCharges:
        entry = self._charges.get(key, FixCharges())
        return replace(entry, times=tuple(t for t in entry.times if t > now - self._window))

    @staticmethod
    def _ended(key: tuple[AppRef, str], entry: FixCharges) -> FixCharges:
        if entry.fighting:
            metrics.set_fight(key[0], key[1], False)
            log.info("fight_ended", app=key[0].name, rule=key[1])
        return replace(entry, fighting=False)
