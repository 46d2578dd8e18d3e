"""What was told outside (private to `Safeguards`): the alerts announced per (app, rule) and
the last Security Hub finding recorded per (app, rule), kept in the application's state in the
store, so a restart neither announces an open violation again nor loses a finding's
FirstObservedAt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from daemon.reconcile.safeguards._states import AppStates
from daemon.reconcile.safeguards.records import AppState, FindingRecord
from daemon.state import AppRef


class Announcements:
    def __init__(self, states: AppStates) -> None:
        self._states = states

    def known(self, app: AppRef, rules: Iterable[str], findings: frozenset[str]) -> bool:
        """Were all `findings` already announced for every rule? Then only what is still open
        is remembered (its return is news)."""
        rules = list(rules)
        announced = self._states.get(app).announced
        if all(findings <= announced.get(rule, frozenset()) for rule in rules):
            self.remember(app, rules, findings)
            return True
        return False

    def remember(self, app: AppRef, rules: Iterable[str], findings: frozenset[str]) -> None:
        rules = list(rules)

        def put(state: AppState) -> AppState:
            return replace(state, announced={**state.announced, **dict.fromkeys(rules, findings)})

        self._states.change(app, put)

    def forget_cleared(self, app: AppRef, still_alerted: Iterable[str]) -> None:
        keep = set(still_alerted)

        def drop(state: AppState) -> AppState:
            kept = {r: f for r, f in state.announced.items() if r in keep}
            return replace(state, announced=kept)

        self._states.change(app, drop)


class Findings:
    def __init__(self, states: AppStates) -> None:
        self._states = states

    def last(self, app: AppRef, rule: str) -> FindingRecord | None:
        return self._states.get(app).findings.get(rule)

    def record(self, record: FindingRecord) -> None:
        def put(state: AppState) -> AppState:
            return replace(state, findings={**state.findings, record.rule: record})

        self._states.change(record.app, put)
