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
from collections import Counter
from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from daemon.state import AppRef

LABELS = ("account", "region", "application", "rule")
COUNT_LABELS = ("rule", "account", "region")
_SET = 0b10  # the series exists
_ON = 0b01  # its value is 1

AppKey = tuple[str, str, str]  # (account, region, application), interned
Family = tuple[int, GaugeMetricFamily]  # (index of the family, its series of one application)


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
            row[column] = (row[column] & ~(0b11 << shift)) | cell

    def forget(self, app: AppRef) -> None:
        """Remove every series of `app` in every family (removing an unknown app does nothing)."""
        with self._lock:
            self._rows.pop((app.account, app.region, app.name), None)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families without samples, so the registry rejects a duplicate name."""
        yield from self.empty_families()
        if self._compliant is not None:
            yield GaugeMetricFamily(*self._compliant, labels=COUNT_LABELS)

    def empty_families(self) -> list[GaugeMetricFamily]:
        """Each per-application family, without samples (its HELP and TYPE)."""
        return [GaugeMetricFamily(n, doc, labels=LABELS) for n, doc in self._families]

    def snapshot(self) -> tuple[list[tuple[AppKey, bytes]], tuple[str, ...]]:
        """(each application's row, the rule of each column): a copy, so reconciles do not
        wait for a scrape's formatting."""
        with self._lock:
            return [(key, bytes(row)) for key, row in self._rows.items()], tuple(self._rules)

    def row_families(self, key: AppKey, row: bytes, rules: tuple[str, ...]) -> list[Family]:
        """One application's series at 1, by family index (families without any left out)."""
        found = []
        for family, (name, documentation) in enumerate(self._families):
            shift = 2 * family
            columns = [column for column, byte in enumerate(row) if (byte >> shift) & _ON]
            if columns:
                metric = GaugeMetricFamily(name, documentation, labels=LABELS)
                for column in columns:
                    metric.add_metric([*key, rules[column]], 1.0)
                found.append((family, metric))
        return found

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rows, rules = self.snapshot()
        families = self.empty_families()
        for key, row in rows:
            for family, metric in self.row_families(key, row, rules):
                families[family].samples.extend(metric.samples)
        yield from families
        counts = self.compliant_counts(rows, rules)
        if counts is not None:
            yield counts

    def compliant_counts(
        self, rows: list[tuple[AppKey, bytes]], rules: tuple[str, ...]
    ) -> GaugeMetricFamily | None:
        """The pairs whose violation is known and 0, counted per rule, account and Region
        (None without a `compliant` family)."""
        if self._compliant is None:
            return None
        counts: dict[tuple[str, str, str], int] = {}
        # A fleet's rows repeat (most apps pass the same rules): count alike rows first.
        alike = Counter((account, region, row) for (account, region, _), row in rows)
        for (account, region, row), apps in alike.items():
            for column, byte in enumerate(row):
                if byte & 0b11 == _SET:  # the violation is known, and 0
                    key = (rules[column], account, region)
                    counts[key] = counts.get(key, 0) + apps
        metric = GaugeMetricFamily(*self._compliant, labels=COUNT_LABELS)
        for labels, count in sorted(counts.items()):
            metric.add_metric(list(labels), float(count))
        return metric
