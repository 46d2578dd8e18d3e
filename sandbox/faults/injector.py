"""The fault injector's state: installed rules, their schedules, and exact counters.

Rules are tried in order; the first one that fires decides what happens to a request, and
later rules do not see (or count) that request. Counters say exactly how many faults were
injected per (kind, service, operation), so a test can compare them with what the code under
test counted. Installing rules zeroes the counters; clearing removes the rules but keeps the
counters, so a test can stop the faults and then read the final figures.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from sandbox.faults.rules import FaultRule


class FaultInjector:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._rules: tuple[FaultRule, ...] = ()
        self._matched: list[int] = []
        self._fired: list[int] = []
        self._random: list[random.Random] = []
        self._injected: Counter[tuple[str, str, str]] = Counter()
        self._release = threading.Event()

    def install(self, rules: Sequence[FaultRule]) -> None:
        """Replace the rules; counters start again from zero; hanging requests are released."""
        with self._lock:
            self._rules = tuple(rules)
            self._matched = [0] * len(self._rules)
            self._fired = [0] * len(self._rules)
            self._random = [random.Random(rule.seed) for rule in self._rules]
            self._injected.clear()
            self._release_hangs()

    def clear(self) -> None:
        """Remove every rule (the counters stay); hanging requests answer at once."""
        with self._lock:
            self._rules, self._matched, self._fired, self._random = (), [], [], []
            self._release_hangs()

    def _release_hangs(self) -> None:
        self._release.set()
        self._release = threading.Event()

    def decide(self, service: str, operation: str, mutating: bool) -> FaultRule | None:
        """The rule that fires for this request, counted as injected; None: no fault."""
        with self._lock:
            now = self.clock()
            for index, rule in enumerate(self._rules):
                if not rule.selects(service, operation, mutating):
                    continue
                if rule.kind == "outage" and rule.until is not None and now >= rule.until:
                    continue
                self._matched[index] += 1
                if not self._fires(index, rule):
                    continue
                self._fired[index] += 1
                self._injected[(rule.kind, service, operation)] += 1
                return rule
            return None

    def _fires(self, index: int, rule: FaultRule) -> bool:
        if rule.kind == "outage":
            return True
        position = self._matched[index] - rule.skip
        if position <= 0 or position % rule.every != 0:
            return False
        if rule.count is not None and self._fired[index] >= rule.count:
            return False
        return rule.probability is None or self._random[index].random() < rule.probability

    def hang(self, seconds: float) -> None:
        """Wait `seconds`, or less when the rules are cleared or replaced meanwhile."""
        with self._lock:
            release = self._release
        release.wait(seconds)

    def injected(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self._injected)

    def report(self) -> dict[str, Any]:
        """What GET /_sandbox/faults answers."""
        with self._lock:
            rules = [
                {**rule.as_json(), "matched": matched, "injected": fired}
                for rule, matched, fired in zip(
                    self._rules, self._matched, self._fired, strict=True
                )
            ]
            injected = [
                {"kind": kind, "service": service, "operation": operation, "count": count}
                for (kind, service, operation), count in sorted(self._injected.items())
            ]
            return {
                "rules": rules,
                "injected": injected,
                "total": sum(self._injected.values()),
                "now": self.clock(),
            }
