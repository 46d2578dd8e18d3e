"""Follow-up of restarting fixes, without holding a worker.

A change to a running application takes minutes and may fail or be rolled back by the service.
The executor remembers the change (`Pending`: its OperationId) and the reconcile returns
`retry` with a short delay; the next reconcile of the app settles it first: SUCCESSFUL ->
`applied`; FAILED -> `failed`, or `rolled_back` when the service rolled it back. A fix that did
not hold puts (app, rule) on exponential backoff (1 h doubling to 24 h): its drift is reported,
not fixed again, so a fix the service keeps undoing does not restart production forever. The
backoff ends early when someone else changes the app (its version) or the rule's settings.
A fix that left the running application stopped (`stopped`) is backed off without end: only a
change to the app or to the rule's settings lets the daemon try again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from daemon.state import Action, AppRef, Cause

FIRST_BACKOFF_SECONDS = 3600.0
MAX_BACKOFF_SECONDS = 24 * 3600.0
POLL_SECONDS = 15.0  # how soon to look at a change in progress again
MAX_POLL_SECONDS = 60.0


@dataclass(frozen=True)
class Pending:
    """A change the service accepted and is still applying."""

    action: Action
    cause: Cause
    operation_id: str  # "" when the reply had none: then the app's status tells
    version_before: int
    started: float
    polls: int = 0


@dataclass(frozen=True)
class Backoff:
    until: float
    seconds: float
    version: int  # the app's version when the fix was given up: a change by someone else resets
    settings: str  # the rule's settings then: a config change resets


class FollowUps:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        first_backoff_seconds: float = FIRST_BACKOFF_SECONDS,
        max_backoff_seconds: float = MAX_BACKOFF_SECONDS,
    ) -> None:
        self._clock = clock
        self._first = first_backoff_seconds
        self._max = max_backoff_seconds
        self._pending: dict[AppRef, tuple[Pending, ...]] = {}
        self._backoff: dict[tuple[AppRef, str], Backoff] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock()

    def remember(self, pending: Pending) -> None:
        with self._lock:
            self._pending[pending.action.app] = (
                *self._pending.get(pending.action.app, ()),
                pending,
            )

    def pending(self, app: AppRef) -> tuple[Pending, ...]:
        with self._lock:
            return self._pending.get(app, ())

    def replace_pending(self, app: AppRef, still: tuple[Pending, ...]) -> None:
        with self._lock:
            if still:
                self._pending[app] = still
            else:
                self._pending.pop(app, None)

    @staticmethod
    def poll_delay(pending: tuple[Pending, ...]) -> float:
        polls = max((p.polls for p in pending), default=0)
        return min(POLL_SECONDS * float(2 ** min(polls, 4)), MAX_POLL_SECONDS)

    def back_off(
        self, app: AppRef, rule: str, version: int, settings: str, forever: bool = False
    ) -> Backoff:
        """The fix of `rule` on `app` did not hold: no new attempt until the backoff ends
        (`forever`: until the app's version or the rule's settings change)."""
        with self._lock:
            before = self._backoff.get((app, rule))
            seconds = self._first if before is None else min(before.seconds * 2, self._max)
            seconds = math.inf if forever else seconds
            entry = Backoff(self._clock() + seconds, seconds, version, settings)
            self._backoff[(app, rule)] = entry
            return entry

    def backing_off(self, app: AppRef, rule: str, version: int, settings: str) -> Backoff | None:
        """The backoff in force for (app, rule), or None. Someone else changed the app or the
        config changed the rule's settings: forgotten (the next failure starts at 1 h)."""
        with self._lock:
            entry = self._backoff.get((app, rule))
            if entry is None:
                return None
            if entry.version != version or entry.settings != settings:
                del self._backoff[(app, rule)]
                return None
            return entry if self._clock() < entry.until else None

    def moved_by_us(self, app: AppRef, version: int) -> None:
        """Our own change moved the app to `version`: not a reason to end its backoffs."""
        with self._lock:
            for (a, rule), entry in list(self._backoff.items()):
                if a == app:
                    self._backoff[(a, rule)] = Backoff(
                        entry.until, entry.seconds, version, entry.settings
                    )

    def succeeded(self, app: AppRef, rule: str) -> None:
        """A fix of `rule` held: the next failure starts at the first backoff again."""
        with self._lock:
            self._backoff.pop((app, rule), None)
