"""Fixes deferred to a maintenance window (private to `Safeguards`): per application, when its
earliest deferred fix may be made. The runtime asks for the due ones periodically and submits
them; the reconcile then runs inside the window and applies."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from daemon.reconcile.safeguards.records import Deferral
from daemon.state import Action, AppRef
from daemon.telemetry import metrics


class DeferredFixes:
    def __init__(self) -> None:
        self._deferrals: dict[AppRef, Deferral] = {}
        self._lock = threading.Lock()

    def record(self, app: AppRef, actions: Sequence[Action], checked: Sequence[str]) -> None:
        """After a reconcile of `app`: its deferred actions (possibly none) among `checked`
        rules; sets flink_remediator_fix_deferred for each."""
        deferred = {r: a.deferred_until for a in actions if a.deferred_until for r in a.rules}
        with self._lock:
            before = self._deferrals.get(app)
            for rule in set(checked) | (before.rules if before else frozenset()):
                metrics.set_fix_deferred(app, rule, rule in deferred)
            times = [t for t in deferred.values() if t is not None]
            if times:
                self._deferrals[app] = Deferral(min(times), frozenset(deferred))
            else:
                self._deferrals.pop(app, None)

    def next_opening(self, app: AppRef) -> datetime | None:
        with self._lock:
            deferral = self._deferrals.get(app)
            return deferral.until if deferral else None

    def due(self, moment: datetime) -> list[AppRef]:
        with self._lock:
            return sorted(app for app, d in self._deferrals.items() if d.until <= moment)

    def forget(self, app: AppRef) -> None:
        with self._lock:
            deferral = self._deferrals.pop(app, None)
            for rule in deferral.rules if deferral else ():
                metrics.set_fix_deferred(app, rule, False)
