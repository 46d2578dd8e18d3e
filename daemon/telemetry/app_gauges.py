"""The per-(application, rule) 0/1 gauges in one compact table, exposed by a custom collector.

A prometheus_client Gauge child costs ~750 bytes per series; with every rule on, a 5,000-app
fleet has 13 x 5,000 (application, rule) pairs in two or three families, which alone would
take the daemon past its 100 MB goal. Here each application is one row: a bytearray with one
byte per rule ever seen, and in that byte two bits per family (set, value). The strings are
interned, so an application costs its key tuple, its row and a dict slot (~0.2 KB for all its
rules and families). `collect()` builds the families a labelled Gauge would (same name, HELP,
TYPE, label names), but only for the (application, rule) pairs that have something to say: a
series exists while its value is 1 and is gone when it is 0 (not left at 0), so a mostly
compliant fleet costs a few series, not one per application and rule. The pairs whose first
family (the violation) is known and 0 are counted per rule, account and Region instead, in the
`compliant` family. Series are ordered by application, then by rule.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from daemon.state import AppRef

LABELS = ("account", "region", "application", "rule")
COUNT_LABELS = ("rule", "account", "region")
_SET = 0b10  # the series exists
_ON = 0b01  # its value is 1

AppKey = tuple[str, str, str]  # (account, region, application), interned


class AppRuleGauges(Collector):
    """Several 0/1 gauge families labelled account, region, application, rule."""

    def __init__(
        self, families: Sequence[tuple[str, str]], compliant: tuple[str, str] | None = None
    ) -> None:
        """`families`: (name, help) of each gauge family; a family is addressed by its index.
        `compliant`: (name, help) of the count of pairs whose family 0 is known and 0."""
        if len(families) > 4:
            raise ValueError("at most 4 families fit in a byte of two bits each")
        self._families = tuple(families)
        self._compliant = compliant
        self._lock = threading.Lock()
        self._rules: list[str] = []  # the rule name of each column
        self._columns: dict[str, int] = {}
        self._rows: dict[AppKey, bytearray] = {}
        self._generation = 0  # bumped by every change a scrape would show

    @property
    def generation(self) -> int:
        """A number that changes whenever `collect()` would yield something different."""
        with self._lock:
            return self._generation

    def set(self, family: int, app: AppRef, rule: str, value: bool) -> None:
        """Create or update the series of `family` for (app, rule)."""
        if not 0 <= family < len(self._families):
            raise IndexError(f"no gauge family {family}")
        shift = 2 * family
        with self._lock:
            column = self._columns.get(rule)
            if column is None:
                column = self._columns[rule] = len(self._rules)
                self._rules.append(sys.intern(rule))
            key = (sys.intern(app.account), sys.intern(app.region), sys.intern(app.name))
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = bytearray(column + 1)
            elif len(row) <= column:
                row.extend(bytes(column + 1 - len(row)))
            cell = (_SET | (_ON if value else 0)) << shift
            updated = (row[column] & ~(0b11 << shift)) | cell
            if updated != row[column]:
                row[column] = updated
                self._generation += 1

    def forget(self, app: AppRef) -> None:
        """Remove every series of `app` in every family (removing an unknown app does nothing)."""
        with self._lock:
            if self._rows.pop((app.account, app.region, app.name), None) is not None:
                self._generation += 1

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families without samples, so the registry rejects a duplicate name."""
        for name, documentation in self._families:
            yield GaugeMetricFamily(name, documentation, labels=LABELS)
        if self._compliant is not None:
            yield GaugeMetricFamily(*self._compliant, labels=COUNT_LABELS)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:  # a copy, so reconciles do not wait for the scrape's formatting
            rows = [(key, bytes(row)) for key, row in self._rows.items()]
            rules = tuple(self._rules)
        for family, (name, documentation) in enumerate(self._families):
            shift = 2 * family
            metric = GaugeMetricFamily(name, documentation, labels=LABELS)
            for (account, region, application), row in rows:
                for column, byte in enumerate(row):
                    if (byte >> shift) & _ON:
                        metric.add_metric([account, region, application, rules[column]], 1.0)
            yield metric
        if self._compliant is not None:
            yield self._compliant_counts(rows, rules)

    def _compliant_counts(
        self, rows: list[tuple[AppKey, bytes]], rules: tuple[str, ...]
    ) -> GaugeMetricFamily:
        counts: dict[tuple[str, str, str], int] = {}
        for (account, region, _), row in rows:
            for column, byte in enumerate(row):
                if byte & 0b11 == _SET:  # the violation is known, and 0
                    key = (rules[column], account, region)
                    counts[key] = counts.get(key, 0) + 1
        assert self._compliant is not None
        metric = GaugeMetricFamily(*self._compliant, labels=COUNT_LABELS)
        for labels, count in sorted(counts.items()):
            metric.add_metric(list(labels), float(count))
        return metric
