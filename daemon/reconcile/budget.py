"""The fix budget: how the daemon notices it is fighting another actor.

If something keeps undoing a fix, fixing it again forever only churns versions and hides the
conflict. Past `limit` fixes of one (application, rule) within `window_seconds`, the daemon stops
fixing that pair, says who it is fighting, and raises the fight gauge until the window passes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import structlog

from daemon.state import AppRef
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)


class FixBudget:
    def __init__(
        self,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._fixes: dict[tuple[AppRef, str], deque[float]] = {}
        self._fighting: set[tuple[AppRef, str]] = set()
        self._last_actor: dict[tuple[AppRef, str], str] = {}
        self._lock = threading.Lock()

    def allow(self, app: AppRef, rule: str, actor: str = "") -> bool:
        """May `rule` fix `app` now? Counts the fix when it may."""
        return self._check(app, rule, actor, charge=True)

    def allows(self, app: AppRef, rule: str, actor: str = "") -> bool:
        """May `rule` fix `app` now? Counts nothing: `charge` once the fix succeeded (a fix
        that failed or was rolled back is not a fight)."""
        return self._check(app, rule, actor, charge=False)

    def charge(self, app: AppRef, rule: str) -> None:
        """A fix of `rule` on `app` succeeded: it counts toward the budget."""
        with self._lock:
            self._fixes.setdefault((app, rule), deque()).append(self._clock())

    def _check(self, app: AppRef, rule: str, actor: str, charge: bool) -> bool:
        key = (app, rule)
        now = self._clock()
        with self._lock:
            fixes = self._fixes.setdefault(key, deque())
            while fixes and fixes[0] <= now - self._window:
                fixes.popleft()
            if actor:
                self._last_actor[key] = actor
            if len(fixes) < self._limit:
                if charge:
                    fixes.append(now)
                if key in self._fighting:
                    self._fighting.discard(key)
                    metrics.set_fight(app, rule, False)
                    log.info("fight_ended", app=app.name, rule=rule)
                return True
            if key not in self._fighting:
                self._fighting.add(key)
                metrics.set_fight(app, rule, True)
            log.warning(
                "fight_detected",
                app=app.name,
                account=app.account,
                region=app.region,
                rule=rule,
                actor=self._last_actor.get(key, "unknown"),
                fixes=len(fixes),
                window_seconds=self._window,
            )
            return False

    def expire(self) -> None:
        """Clear fights whose window has passed (called periodically, e.g. by sweeps)."""
        now = self._clock()
        with self._lock:
            for key in list(self._fighting):
                fixes = self._fixes.get(key, deque())
                while fixes and fixes[0] <= now - self._window:
                    fixes.popleft()
                if len(fixes) < self._limit:
                    self._fighting.discard(key)
                    metrics.set_fight(key[0], key[1], False)
                    log.info("fight_ended", app=key[0].name, rule=key[1])
