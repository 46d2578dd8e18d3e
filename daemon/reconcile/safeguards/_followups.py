"""Follow-ups of restarting fixes and the backoff of fixes that did not hold (private to
`Safeguards`), kept in each application's state in the store.

A fix that did not hold puts (app, rule) on exponential backoff (1 h doubling to 24 h): its
drift is reported, not fixed again, so a fix the service keeps undoing does not restart
production forever. The backoff ends early when someone else changes the app (its version) or
the rule's settings. A fix that left the running application stopped is backed off without end.
Kept in the store, a backoff outlives the pod and is seen by every replica.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from daemon.reconcile.safeguards._states import AppStates
from daemon.reconcile.safeguards.records import AppState, Backoff, Pending, WallClock
from daemon.state import AppRef

POLL_SECONDS = 15.0  # how soon to look at a change in progress again
MAX_POLL_SECONDS = 60.0


class FollowUps:
    def __init__(
        self, states: AppStates, clock: WallClock, first_backoff: float, max_backoff: float
    ) -> None:
        self._states = states
        self._clock = clock
        self._first = first_backoff
        self._max = max_backoff

    def remember(self, pending: Pending) -> None:
        def add(state: AppState) -> AppState:
            known = pending.write_id and any(p.write_id == pending.write_id for p in state.pending)
            return state if known else replace(state, pending=(*state.pending, pending))

        self._states.change(pending.action.app, add)

    def pending(self, app: AppRef) -> tuple[Pending, ...]:
        return self._states.get(app).pending

    def replace_pending(self, app: AppRef, still: tuple[Pending, ...]) -> float:
        """Keep `still` pending; how soon to look at them again (0: nothing left)."""
        self._states.change(app, lambda s: replace(s, pending=still))
        polls = max((p.polls for p in still), default=0)
        return min(POLL_SECONDS * float(2 ** min(polls, 4)), MAX_POLL_SECONDS) if still else 0.0

    def back_off(
        self, app: AppRef, rule: str, version: int, settings: str, forever: bool
    ) -> Backoff:
        now = self._clock()
        before = self._states.get(app).backoffs.get(rule)
        seconds = self._first if before is None else min(before.seconds * 2, self._max)
        seconds = math.inf if forever else seconds
        until = None if forever else now + timedelta(seconds=seconds)
        entry = Backoff(until, seconds, version, settings)
        self._states.change(app, lambda s: replace(s, backoffs={**s.backoffs, rule: entry}))
        return entry

    def backing_off(self, app: AppRef, rule: str, version: int, settings: str) -> Backoff | None:
        entry = self._states.get(app).backoffs.get(rule)
        if entry is None:
            return None
        if entry.version != version or entry.settings != settings:
            self.succeeded(app, rule)  # someone changed the app or the rule: try again
            return None
        return entry if entry.until is None or self._clock() < entry.until else None

    def moved_by_us(self, app: AppRef, version: int) -> None:
        def move(state: AppState) -> AppState:
            moved = {r: replace(b, version=version) for r, b in state.backoffs.items()}
            return replace(state, backoffs=moved)

        self._states.change(app, move)

    def succeeded(self, app: AppRef, rule: str) -> None:
        def drop(state: AppState) -> AppState:
            return replace(state, backoffs={r: b for r, b in state.backoffs.items() if r != rule})

        self._states.change(app, drop)

    def settle(
        self, app: AppRef, finished: Sequence[Pending], still: tuple[Pending, ...]
    ) -> tuple[tuple[Pending, ...], float]:
        done = {_key(p) for p in finished} | {_key(p) for p in still}
        claimed: tuple[Pending, ...] = ()

        def apply(state: AppState) -> AppState:
            nonlocal claimed
            stored = {_key(p) for p in state.pending}
            claimed = tuple(p for p in finished if _key(p) in stored)
            others = tuple(p for p in state.pending if _key(p) not in done)  # added meanwhile
            kept = tuple(p for p in still if _key(p) in stored)
            return replace(state, pending=kept + others)

        self._states.change(app, apply)
        polls = max((p.polls for p in still), default=0)
        delay = min(POLL_SECONDS * float(2 ** min(polls, 4)), MAX_POLL_SECONDS) if still else 0.0
        return claimed, delay

    def adopt(self, app: AppRef, write_id: str, pending: Pending | None) -> bool:
        adopted = False

        def apply(state: AppState) -> AppState:
            nonlocal adopted
            adopted = any(w.write_id == write_id for w in state.sent)
            if not adopted:
                return state
            sent = tuple(w for w in state.sent if w.write_id != write_id)
            extra = (pending,) if pending is not None else ()
            return replace(state, sent=sent, pending=(*state.pending, *extra))

        self._states.change(app, apply)
        return adopted


def _key(pending: Pending) -> tuple[str, str, str]:
    return (pending.write_id, pending.operation_id, pending.started.isoformat())
