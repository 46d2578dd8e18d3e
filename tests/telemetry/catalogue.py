"""Reads the metrics catalogue (docs/metrics.md) and the metric names PromQL expressions use.

Shared by the catalogue, alert-rule and dashboard tests, so all of them check against the one
documented catalogue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
METRICS_DOC = ROOT / "docs" / "metrics.md"

# Series Prometheus itself adds to every target; rules may use them.
SCRAPE_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})


@dataclass(frozen=True)
class DocumentedMetric:
    name: str  # as exposed, counters with _total
    type: str
    labels: tuple[str, ...]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _ticked(cell: str) -> tuple[str, ...]:
    return tuple(re.findall(r"`([^`]+)`", cell))


def _table_rows(section: str) -> list[list[str]]:
    """Rows of the first table under the `## section` heading of docs/metrics.md."""
    text = METRICS_DOC.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/metrics.md has no '## {section}' section"
    lines = [ln for ln in match.group(1).splitlines() if ln.startswith("|")]
    assert len(lines) > 2, f"no table in '## {section}'"
    return [_cells(ln) for ln in lines[2:]]  # skip the header and the --- row


def documented_metrics(section: str) -> dict[str, DocumentedMetric]:
    metrics: dict[str, DocumentedMetric] = {}
    for row in _table_rows(section):
        (name,) = _ticked(row[0])
        assert name not in metrics, f"{name} documented twice"
        metrics[name] = DocumentedMetric(name, row[1], _ticked(row[2]))
    return metrics


def documented_label_values() -> dict[tuple[str, str], tuple[str, ...]]:
    values: dict[tuple[str, str], tuple[str, ...]] = {}
    for row in _table_rows("Label values"):
        (metric,), (label,) = _ticked(row[0]), _ticked(row[1])
        values[(metric, label)] = _ticked(row[2])
    return values


def queryable_names() -> frozenset[str]:
    """Every series name a query may use: counters end in _total, histograms add
    _bucket/_sum/_count, plus the series Prometheus adds itself."""
    names = set(SCRAPE_SERIES)
    for section in ("Catalogue", "Standard collectors"):
        for metric in documented_metrics(section).values():
            names.add(metric.name)
            if metric.type == "histogram":
                names.update(f"{metric.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
    return frozenset(names)


_KEYWORDS = frozenset(
    {
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "inf",
        "nan",
        "atan2",
        "start",
        "end",
    }
)


def promql_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (Grafana variables allowed).

    Drops strings, label matchers, range/subquery brackets, grouping label lists and Grafana
    variables, then keeps identifiers that are neither functions (followed by `(`) nor keywords.
    `{__name__="x"}` selectors are read too.
    """
    names = set(re.findall(r"__name__\s*=~?\s*\"([^\"]+)\"", expr))
    text = re.sub(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|`[^`]*`", '""', expr)
    text = re.sub(r"\$\{[^}]*\}|\$\w+|\[\[\w+\]\]", " ", text)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    for match in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(?!\w)", text):
        word = match.group(1)
        if word.lower() in _KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(word)
    return names


def grafana_query_metric_names(query: str) -> set[str]:
    """Metric names in a Grafana Prometheus query: PromQL, or a variable query such as
    `label_values(metric, label)` / `label_values(label)` / `metrics(regex)`."""
    match = re.fullmatch(r"\s*label_values\((.*?)(?:,\s*\w+)?\)\s*", query, re.S)
    if match:
        inner = match.group(1).strip()
        # label_values(label) names a label, not a metric
        return promql_metric_names(inner) if ("," in query or "{" in inner) else set()
    return promql_metric_names(query)
