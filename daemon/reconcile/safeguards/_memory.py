"""What was told outside (private to `Safeguards`): the alerts announced per (app, rule) and
the last Security Hub finding recorded per (app, rule)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from daemon.reconcile.safeguards.records import FindingRecord
from daemon.state import AppRef


class Announcements:
    def __init__(self) -> None:
        self._announced: dict[tuple[AppRef, str], frozenset[str]] = {}
        self._lock = threading.Lock()

    def known(self, app: AppRef, rules: Iterable[str], findings: frozenset[str]) -> bool:
        """Were all `findings` already announced for every rule? Then only what is still open
        is remembered (its return is news)."""
        keys = [(app, rule) for rule in rules]
        with self._lock:
            if all(findings <= self._announced.get(k, frozenset()) for k in keys):
                for key in keys:
                    self._announced[key] = findings
                return True
            return False

    def remember(self, app: AppRef, rules: Iterable[str], findings: frozenset[str]) -> None:
        with self._lock:
            for rule in rules:
                self._announced[(app, rule)] = findings

    def forget_cleared(self, app: AppRef, still_alerted: Iterable[str]) -> None:
        keep = set(still_alerted)
        with self._lock:
            for key in [k for k in self._announced if k[0] == app and k[1] not in keep]:
                del self._announced[key]


class Findings:
    def __init__(self) -> None:
        self._sent: dict[tuple[AppRef, str], FindingRecord] = {}
        self._lock = threading.Lock()

    def last(self, app: AppRef, rule: str) -> FindingRecord | None:
        with self._lock:
            return self._sent.get((app, rule))

    def record(self, record: FindingRecord) -> None:
        with self._lock:
            self._sent[(record.app, record.rule)] = record
