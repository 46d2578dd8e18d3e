"""Fixes deferred to a maintenance window (private to `Safeguards`): per application, when its
earliest deferred fix may be made, kept in the application's state in the store. The runtime
asks for the due ones periodically (among the applications this process has read: a restarted
daemon learns them again from its first sweep) and submits them; the reconcile then runs
inside the window and applies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from daemon.reconcile.safeguards._states import AppStates
from daemon.reconcile.safeguards.records import Deferral
from daemon.state import Action, AppRef
from daemon.telemetry import metrics


class DeferredFixes:
    def __init__(self, states: AppStates) -> None:
        self._states = states

    def record(self, app: AppRef, actions: Sequence[Action], checked: Sequence[str]) -> None:
        """After a reconcile of `app`: its deferred actions (possibly none) among `checked`
        rules; sets flink_remediator_fix_deferred for each."""
        deferred = {r: a.deferred_until for a in actions if a.deferred_until for r in a.rules}
        before = self._states.get(app).deferral
        for rule in set(checked) | (before.rules if before else frozenset()):
            metrics.set_fix_deferred(app, rule, rule in deferred)
        times = [t for t in deferred.values() if t is not None]
        deferral = Deferral(min(times), frozenset(deferred)) if times else None
        self._states.change(app, lambda s: replace(s, deferral=deferral))

    def next_opening(self, app: AppRef) -> datetime | None:
        deferral = self._states.get(app).deferral
        return deferral.until if deferral else None

    def due(self, moment: datetime) -> list[AppRef]:
        return sorted(
            app for app, s in self._states.cached() if s.deferral and s.deferral.until <= moment
        )

    def forget(self, app: AppRef) -> None:
        deferral = self._states.get(app).deferral
        for rule in deferral.rules if deferral else ():
            metrics.set_fix_deferred(app, rule, False)
        self._states.change(app, lambda s: replace(s, deferral=None))
