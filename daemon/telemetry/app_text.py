"""The per-application series as /metrics text, formatted again only where an application changed.

With thousands of violations (alert-only rules) formatting those series is most of a scrape
(prometheus_client takes ~10 us a series), and they change at reconciles, a few applications at
a time. prometheus_client still formats every line (label escaping, text or OpenMetrics): an
application's lines are the encoder's output for its own series alone, kept with the row they
came from; a scrape formats the rows that changed and joins the rest under each family's HELP
and TYPE lines, in the order `collect()` yields them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from daemon.telemetry.app_gauges import AppKey, AppRuleGauges

Encoder = Callable[
    [Any], bytes
]  # generate_latest and its OpenMetrics twin: anything with collect()
_EOF = b"# EOF\n"  # OpenMetrics ends every encoder output with it: one, at the very end
Lines = tuple[bytes, ...]  # an application's sample lines, by family index


class _Families:
    """What an encoder reads: an object whose collect() yields metric families."""

    def __init__(self, *families: GaugeMetricFamily) -> None:
        self._families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families)


class AppGaugesText:
    def __init__(self, gauges: AppRuleGauges) -> None:
        self._gauges = gauges
        self._lock = threading.Lock()  # scrapes may overlap (one thread per request)
        # content type -> application -> (its row when formatted, its lines by family)
        self._formatted: dict[str, dict[AppKey, tuple[bytes, Lines]]] = {}

    def render(self, encoder: Encoder, content_type: str) -> bytes:
        """What `encoder` makes of the gauges' families, without OpenMetrics' final EOF line."""
        rows, rules = self._gauges.snapshot()
        empty = self._gauges.empty_families()
        with self._lock:
            before = self._formatted.get(content_type, {})
            changed = [(key, row) for key, row in rows if before.get(key, (None,))[0] != row]
            formatted = self._format(encoder, changed, rules, len(empty))
            # Forgotten applications drop out; unchanged ones keep their lines.
            now = {key: formatted.get(key) or before[key] for key, _ in rows}
            self._formatted[content_type] = now
        parts = []
        for family, metric in enumerate(empty):
            parts.append(encoder(_Families(metric)).removesuffix(_EOF))
            parts.extend(lines[family] for _, lines in now.values())
        compliant = self._gauges.compliant_counts(rows, rules)
        if compliant is not None:
            parts.append(encoder(_Families(compliant)).removesuffix(_EOF))
        return b"".join(parts)

    def _format(
        self, encoder: Encoder, rows: list[tuple[AppKey, bytes]], rules: tuple[str, ...], count: int
    ) -> dict[AppKey, tuple[bytes, Lines]]:
        """The changed rows' lines: one encoder call per family for all of them (a call per
        application costs ~50 us more), then cut apart: a 0/1 gauge sample is one line."""
        families = self._gauges.empty_families()
        taken: list[list[int]] = []  # per row: its number of series in each family
        for key, row in rows:
            numbers = [0] * count
            for family, metric in self._gauges.row_families(key, row, rules):
                families[family].samples.extend(metric.samples)
                numbers[family] = len(metric.samples)
            taken.append(numbers)
        samples = [
            iter([x for x in encoder(_Families(m)).splitlines(True) if not x.startswith(b"#")])
            for m in families
        ]
        formatted = {}
        for (key, row), numbers in zip(rows, taken, strict=True):
            lines = tuple(
                b"".join(next(samples[f]) for _ in range(n)) for f, n in enumerate(numbers)
            )
            formatted[key] = (row, lines)
        return formatted
