"""The audit report: one row per application and control (rule), built from a dry-run pass.

Status: `compliant`, `violation`, `not applicable` (the rule is off for this application, or
the application is opted out), `error` (the application could not be read). Evidence is what
was read: the drift's current and desired values, or for compliant rows the relevant part of
DescribeApplication where that is simple.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from daemon.evidence.history import FindingHistory
from daemon.evidence.observed import evidence_from_detail
from daemon.reconcile.reconciler import ReconcileResult
from daemon.reconcile.verdicts import Verdict
from daemon.state import AppRef

FORMAT_VERSION = 1
Status = Literal["compliant", "violation", "not applicable", "error"]
STATUSES: tuple[Status, ...] = ("compliant", "violation", "not applicable", "error")


@dataclass(frozen=True)
class Control:
    id: str
    summary: str
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    app: AppRef
    control: Control
    status: Status
    evidence: str
    message: str = ""
    finding: FindingHistory | None = None


@dataclass(frozen=True)
class Report:
    generated_at: str
    controls: tuple[Control, ...]
    apps: tuple[AppRef, ...]
    rows: tuple[Row, ...]
    security_hub: bool = False
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def rows_of(self, app: AppRef) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.app == app)


def build_report(
    results: Sequence[ReconcileResult],
    verdicts: Iterable[Verdict],
    controls: Sequence[Control],
    generated_at: str,
    history: Mapping[tuple[str, str], FindingHistory] | None = None,
) -> Report:
    by_key = {(v.app, v.rule): v for v in verdicts}
    rows = []
    for result in results:
        for control in controls:
            row = _row(result, control, by_key.get((result.app, control.id)))
            finding = (history or {}).get((result.app.arn, control.id))
            rows.append(Row(row.app, control, row.status, row.evidence, row.message, finding))
    counts: dict[str, Mapping[str, int]] = {
        c.id: {s: sum(1 for r in rows if r.control == c and r.status == s) for s in STATUSES}
        for c in controls
    }
    return Report(
        generated_at,
        tuple(controls),
        tuple(r.app for r in results),
        tuple(rows),
        history is not None,
        counts,
    )


def _row(result: ReconcileResult, control: Control, verdict: Verdict | None) -> Row:
    app = result.app
    if result.result == "skipped":
        return Row(app, control, "not applicable", "", result.error or "skipped")
    if verdict is None:
        if result.result in ("error", "gone"):
            return Row(app, control, "error", "", result.error or result.result)
        return Row(app, control, "not applicable", "", "rule not enabled for this application")
    if verdict.violated:
        evidence = "; ".join(
            f"{d.field}: {_value(d.current)} (desired {_value(d.desired)})" for d in verdict.drifts
        )
        message = "; ".join(d.message for d in verdict.drifts)
        return Row(app, control, "violation", evidence, message)
    return Row(app, control, "compliant", evidence_from_detail(control.id, result.detail or {}))


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= 300 else text[:297] + "..."
