"""Fixes deferred to a maintenance window (private to `Safeguards`).

Per application, when its earliest deferred fix may be made is kept in the application's state;
besides, one index item per account and Region (`deferred#<account>#<region>`: app name ->
opening) makes them discoverable: a daemon that just started, or a replica that never read the
app, finds every deferral with one read of the places it covers (BatchGetItem, 100 places a
call), without a sweep and without a table scan (the daemon's policy grants only BatchGetItem
and PutItem). An index write is made only when an app's opening changes.

At an opening every replica finds the app due; each claims (app, opening) in the store first
(daemon/store/claims.py) and only the one that wins submits it: the fix is made once. The claim
lasts CLAIM_SECONDS: if its holder died before the reconcile ran, another replica fires then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

import structlog

from daemon.reconcile.safeguards._states import KEEP, AppStates
from daemon.reconcile.safeguards.records import Deferral, WallClock
from daemon.state import Action, AppRef
from daemon.store import Item, StoreUnavailable, VersionConflict
from daemon.store.claims import claim
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)

Place = tuple[str, str]  # (account, Region)
Openings = dict[str, str]  # app name -> ISO 8601 opening
CLAIM_SECONDS = 600.0  # far longer than a reconcile takes to start once submitted
INDEX_ROUNDS = 8  # conflicting index writes (replicas deferring apps of one Region at once)


def index_key(account: str, region: str) -> str:
    return f"deferred#{account}#{region}"


class DeferredFixes:
    def __init__(self, states: AppStates, clock: WallClock) -> None:
        self._states = states
        self._clock = clock
        self._index_lock = threading.Lock()  # one index write at a time in this process
        self._fired: set[AppRef] = set()  # claimed here: their next record syncs the index

    def record(self, app: AppRef, actions: Sequence[Action], checked: Sequence[str]) -> None:
        """After a reconcile of `app`: its deferred actions (possibly none) among `checked`
        rules; sets flink_remediator_fix_deferred for each."""
        deferred = {r: a.deferred_until for a in actions if a.deferred_until for r in a.rules}
        before = self._states.get(app).deferral
        for rule in set(checked) | (before.rules if before else frozenset()):
            metrics.set_fix_deferred(app, rule, rule in deferred)
        times = [t for t in deferred.values() if t is not None]
        deferral = Deferral(min(times), frozenset(deferred)) if times else None
        self._set(app, deferral, before)

    def next_opening(self, app: AppRef) -> datetime | None:
        deferral = self._states.get(app).deferral
        return deferral.until if deferral else None

    def due(self, places: Iterable[Place], moment: datetime) -> list[AppRef]:
        """The apps of `places` whose opening has come by `moment` and that this process
        claimed (an app another replica claimed for the same opening is left to it). Nothing
        when the store does not answer: the next check, or a sweep, finds them."""
        keys = [index_key(account, region) for account, region in dict.fromkeys(places)]
        try:
            found = self._states.store.get_many(keys) if keys else {}
        except StoreUnavailable as exc:
            log.warning("deferred_fixes_unread", error=str(exc))
            return []
        opened = sorted(
            (_app(item.key, name), opening)
            for item in found.values()
            for name, opening in _openings(item).items()
            if datetime.fromisoformat(opening) <= moment
        )
        fired = [app for app, opening in opened if self._claim(app, opening)]
        with self._index_lock:
            self._fired.update(fired)
        return fired

    def forget(self, app: AppRef) -> None:
        before = self._states.get(app).deferral
        for rule in before.rules if before else ():
            metrics.set_fix_deferred(app, rule, False)
        self._set(app, None, before)

    def _set(self, app: AppRef, deferral: Deferral | None, before: Deferral | None) -> None:
        self._states.change(app, lambda s: replace(s, deferral=deferral))
        opening = deferral.until.isoformat() if deferral else None
        with self._index_lock:
            fired = app in self._fired
            self._fired.discard(app)
        # After a firing the index is brought in line even if the app's state did not change:
        # an entry left behind (its removal failed) would otherwise fire every CLAIM_SECONDS.
        if fired or opening != (before.until.isoformat() if before else None):
            self._index(app, lambda apps: _with(apps, app.name, opening))

    def _claim(self, app: AppRef, opening: str) -> bool:
        try:
            won = claim(
                self._states.store, f"deferred#{app}#{opening}", self._clock(), CLAIM_SECONDS
            )
        except StoreUnavailable as exc:
            log.warning("deferred_fix_unclaimed", app=str(app), error=str(exc))
            return False  # a sweep in the window makes it; never twice
        metrics.count_timer_claim("deferred_fix", won)
        if not won:
            log.info("deferred_fix_claimed_elsewhere", app=str(app), opening=opening)
        return won

    def _index(self, app: AppRef, change: Callable[[Openings], Openings]) -> None:
        """Apply `change` to the index of the app's account and Region (a conditional write on
        the version read; read again and retried when another replica wrote first)."""
        key = index_key(app.account, app.region)
        with self._index_lock:
            for _ in range(INDEX_ROUNDS):
                try:
                    item = self._states.store.get_many([key]).get(key)
                    before = _openings(item) if item else {}
                    after = change(before)
                    if after == before:
                        return
                    expires = self._clock() + KEEP
                    self._states.store.put(
                        Item(key, {"apps": after}, expires, item.version if item else 0)
                    )
                    return
                except VersionConflict:
                    metrics.count_state_store_conflict()
                except StoreUnavailable as exc:
                    # The app's own state still holds the deferral: a sweep finds it again.
                    log.warning("deferred_index_unwritten", app=str(app), error=str(exc))
                    return
            log.warning("state_store_conflicts", key=key, rounds=INDEX_ROUNDS)


def _app(key: str, name: str) -> AppRef:
    _, account, region = key.split("#", 2)
    return AppRef(account, region, name)


def _openings(item: Item) -> Openings:
    return {str(k): str(v) for k, v in dict(item.data.get("apps", {})).items()}


def _with(apps: Openings, name: str, opening: str | None) -> Openings:
    rest = {k: v for k, v in apps.items() if k != name}
    return rest if opening is None else {**rest, name: opening}
