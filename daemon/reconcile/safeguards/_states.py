"""Per-application state in the state store (private to `Safeguards`), with a local copy.

Every reconcile starts with `load` (the item a sweep prefetched in batches, else one read), the
safeguards answer from the local copy, and each change is written at once if it changed
anything: a conditional put on the version read; when another replica wrote first, the change
is applied again to what it wrote. When the store cannot be read the application is marked
`unknown` (its restarting fixes are held) until a read succeeds.

The local copy is the decoded state and the version it was read at, never the stored item's
data (a second copy of every app's state, in the store's JSON form), and no entry for an app
whose state is empty (most of a fleet: `get` answers the empty state for it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

import structlog

from daemon.reconcile.safeguards._codec import decode_as, encode
from daemon.reconcile.safeguards.records import AppState, WallClock
from daemon.state import AppRef
from daemon.store import Item, StateStore, StoreUnavailable, VersionConflict
from daemon.store.claims import claim
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)

KEEP = timedelta(days=90)  # an app's item outlives its last change by this (Security Hub's 90)
CONFLICT_ROUNDS = 5
EMPTY = AppState()


def app_key(app: AppRef) -> str:
    return f"app#{app}"


class AppStates:
    def __init__(self, store: StateStore, clock: WallClock) -> None:
        self.store = store
        self._clock = clock
        self._versions: dict[AppRef, int] = {}
        self._states: dict[AppRef, AppState] = {}
        self._prefetched: set[AppRef] = set()
        self._unknown: set[AppRef] = set()
        self._lock = threading.Lock()
        self.available = True

    def prefetch(self, apps: Sequence[AppRef]) -> None:
        """A sweep's batched read (BatchGetItem, 100 apps a call): each app's next `load`
        takes it instead of reading again."""
        try:
            found = self.store.get_many([app_key(a) for a in apps])
        except StoreUnavailable as exc:
            self._unavailable(apps, exc)
            return
        self._healthy()
        with self._lock:
            for app in apps:
                self._set(app, found.get(app_key(app)))
                self._prefetched.add(app)

    def load(self, app: AppRef) -> AppState:
        with self._lock:
            if app in self._prefetched:
                self._prefetched.discard(app)
                return self._states.get(app, AppState())
        try:
            found = self.store.get_many([app_key(app)])
        except StoreUnavailable as exc:
            self._unavailable([app], exc)
            return self.get(app)
        self._healthy()
        with self._lock:
            return self._set(app, found.get(app_key(app)))

    def get(self, app: AppRef) -> AppState:
        with self._lock:
            return self._states.get(app, AppState())

    def unknown(self, app: AppRef) -> bool:
        """The last read of `app`'s state failed: what the store holds is not known."""
        with self._lock:
            return app in self._unknown

    def cached(self) -> list[tuple[AppRef, AppState]]:
        with self._lock:
            return list(self._states.items())

    def change(self, app: AppRef, fn: Callable[[AppState], AppState]) -> AppState:
        """Apply `fn` to the app's state and store the result if it differs. On a conflict the
        newer stored state is read and `fn` applied to it again."""
        for _ in range(CONFLICT_ROUNDS):
            with self._lock:
                before = self._states.get(app, AppState())
                version = self._versions.get(app, 0)
            after = fn(before)
            if after == before:
                return after
            data: dict[str, Any] = encode(after)
            expires = self._clock() + KEEP
            try:
                stored = self.store.put(Item(app_key(app), data, expires, version))
            except VersionConflict:
                metrics.count_state_store_conflict()
                self._reread(app)
                continue
            except StoreUnavailable as exc:
                self._unavailable([app], exc)
                with self._lock:  # kept here: this process still acts on it
                    self._keep(app, after)
                return after
            self._healthy()
            with self._lock:
                self._versions[app] = stored.version
                self._keep(app, after)
            return after
        log.warning("state_store_conflicts", app=str(app), rounds=CONFLICT_ROUNDS)
        return self.get(app)

    def probe(self) -> bool:
        """One read of a key never written: is the store answering? (/readyz while idle)"""
        try:
            self.store.get_many(["probe"])
        except StoreUnavailable as exc:
            self._unavailable((), exc)
            return False
        self._healthy()
        return True

    def claim(self, key: str, seconds: float) -> bool:
        try:
            won = claim(self.store, key, self._clock(), seconds)
        except StoreUnavailable as exc:
            self._unavailable((), exc)
            return True
        self._healthy()
        return won

    def forget_local(self, apps: Iterable[AppRef]) -> None:
        with self._lock:
            for app in apps:
                self._states.pop(app, None)
                self._versions.pop(app, None)

    def _reread(self, app: AppRef) -> None:
        try:
            found = self.store.get_many([app_key(app)])
        except StoreUnavailable as exc:
            self._unavailable([app], exc)
            return
        with self._lock:
            self._set(app, found.get(app_key(app)))

    def _set(self, app: AppRef, item: Item | None) -> AppState:
        """Under the lock: the app's state as read."""
        state = decode_as(AppState, item.data) if item is not None else AppState()
        if item is None:
            self._versions.pop(app, None)
        else:
            self._versions[app] = item.version
        self._keep(app, state)
        self._unknown.discard(app)
        return state

    def _keep(self, app: AppRef, state: AppState) -> None:
        """Under the lock: the local copy of `app`'s state (none kept when it is empty)."""
        if state == EMPTY:
            self._states.pop(app, None)
        else:
            self._states[app] = state

    def _unavailable(self, apps: Iterable[AppRef], exc: Exception) -> None:
        metrics.count_state_store_error()
        if self.available:
            log.error("state_store_unavailable", store=self.store.name, error=str(exc))
        self.available = False
        metrics.set_state_store_up(False)
        with self._lock:
            self._unknown.update(apps)

    def _healthy(self) -> None:
        if not self.available:
            log.info("state_store_available", store=self.store.name)
        self.available = True
        metrics.set_state_store_up(True)
