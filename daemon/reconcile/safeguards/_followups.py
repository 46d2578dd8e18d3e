"""Follow-ups of restarting fixes and the backoff of fixes that did not hold (private to
`Safeguards`).

A fix that did not hold puts (app, rule) on exponential backoff (1 h doubling to 24 h): its
drift is reported, not fixed again, so a fix the service keeps undoing does not restart
production forever. The backoff ends early when someone else changes the app (its version) or
the rule's settings. A fix that left the running application stopped is backed off without end.
"""

from __future__ import annotations

import math
import threading
from datetime import timedelta

from daemon.reconcile.safeguards.records import Backoff, Pending, WallClock
from daemon.state import AppRef

POLL_SECONDS = 15.0  # how soon to look at a change in progress again
MAX_POLL_SECONDS = 60.0


class FollowUps:
    def __init__(self, clock: WallClock, first_backoff: float, max_backoff: float) -> None:
        self._clock = clock
        self._first = first_backoff
        self._max = max_backoff
        self._pending: dict[AppRef, tuple[Pending, ...]] = {}
        self._backoff: dict[tuple[AppRef, str], Backoff] = {}
        self._lock = threading.Lock()

    def remember(self, pending: Pending) -> None:
        with self._lock:
            app = pending.action.app
            self._pending[app] = (*self._pending.get(app, ()), pending)

    def pending(self, app: AppRef) -> tuple[Pending, ...]:
        with self._lock:
            return self._pending.get(app, ())

    def replace_pending(self, app: AppRef, still: tuple[Pending, ...]) -> float:
        """Keep `still` pending; how soon to look at them again (0: nothing left)."""
        with self._lock:
            if still:
                self._pending[app] = still
            else:
                self._pending.pop(app, None)
        polls = max((p.polls for p in still), default=0)
        return min(POLL_SECONDS * float(2 ** min(polls, 4)), MAX_POLL_SECONDS) if still else 0.0

    def back_off(
        self, app: AppRef, rule: str, version: int, settings: str, forever: bool
    ) -> Backoff:
        with self._lock:
            before = self._backoff.get((app, rule))
            seconds = self._first if before is None else min(before.seconds * 2, self._max)
            seconds = math.inf if forever else seconds
            until = None if forever else self._clock() + timedelta(seconds=seconds)
            entry = Backoff(until, seconds, version, settings)
            self._backoff[(app, rule)] = entry
            return entry

    def backing_off(self, app: AppRef, rule: str, version: int, settings: str) -> Backoff | None:
        with self._lock:
            entry = self._backoff.get((app, rule))
            if entry is None:
                return None
            if entry.version != version or entry.settings != settings:
                del self._backoff[(app, rule)]
                return None
            return entry if entry.until is None or self._clock() < entry.until else None

    def moved_by_us(self, app: AppRef, version: int) -> None:
        with self._lock:
            for (a, rule), entry in list(self._backoff.items()):
                if a == app:
                    self._backoff[(a, rule)] = Backoff(
                        entry.until, entry.seconds, version, entry.settings
                    )

    def succeeded(self, app: AppRef, rule: str) -> None:
        with self._lock:
            self._backoff.pop((app, rule), None)
