"""The audit report: one row per application and control (rule), built from a dry-run pass.

Status: `compliant`, `violation`, `not applicable` (the control does not concern this
application: no VPC for `vpc_public_route`, an application kind the rule does not cover),
`not evaluated` (the rule is disabled, for every application or by an override for this one,
or the application is opted out or was busy), `error` (the application could not be read).
Evidence is what was read: the drift's current and desired values, or for compliant rows the
relevant part of DescribeApplication (or the tags observed).
A header says what the report covers and from what: tool version, the config file's digest,
the accounts and Regions, the caller identity and the time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from daemon.evidence.history import FindingHistory
from daemon.evidence.observed import evidence_from_detail, not_applicable
from daemon.reconcile.result import ReconcileResult
from daemon.reconcile.verdicts import Verdict
from daemon.state import AppRef

FORMAT_VERSION = 1
Status = Literal["compliant", "violation", "not applicable", "not evaluated", "error"]
STATUSES: tuple[Status, ...] = (
    "compliant",
    "violation",
    "not applicable",
    "not evaluated",
    "error",
)
RULE_DISABLED = "rule disabled"


@dataclass(frozen=True)
class Control:
    id: str
    summary: str
    references: tuple[str, ...] = ()
    evaluated: bool = True  # False: mapped to references but disabled everywhere


@dataclass(frozen=True)
class Header:
    """What the report covers and from what, for an auditor to reproduce it."""

    generated_at: str
    tool_version: str = ""
    config_file: str = ""
    config_sha256: str = ""
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    caller_arn: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "tool_version": self.tool_version,
            "config_file": self.config_file,
            "config_sha256": self.config_sha256,
            "accounts": list(self.accounts),
            "regions": list(self.regions),
            "caller_arn": self.caller_arn,
        }


@dataclass(frozen=True)
class Row:
    app: AppRef
    control: Control
    status: Status
    evidence: str
    message: str = ""
    finding: FindingHistory | None = None
    # The waiver that allows this violation ("waived (ticket, approver, expires): id, reason"),
    # or why the app's opt-out tag is not honoured (ignore_tag.requires_waiver).
    waiver: str = ""
    # The approval (`flink-remediator approve`) of this rule's restarting fix, and its state.
    approval: str = ""


@dataclass(frozen=True)
class Report:
    header: Header
    controls: tuple[Control, ...]
    apps: tuple[AppRef, ...]
    rows: tuple[Row, ...]
    security_hub: bool = False
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def generated_at(self) -> str:
        return self.header.generated_at

    def rows_of(self, app: AppRef) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.app == app)


def build_report(
    results: Sequence[ReconcileResult],
    verdicts: Iterable[Verdict],
    controls: Sequence[Control],
    header: Header,
    history: Mapping[tuple[str, str], FindingHistory] | None = None,
    tags: Mapping[AppRef, Mapping[str, str]] | None = None,
    waiver_notes: Mapping[AppRef, str] | None = None,
    approvals: Mapping[tuple[AppRef, str], str] | None = None,
) -> Report:
    """`tags`: the tags read of each application (evidence of a compliant required_tags);
    `waiver_notes`: per app, why its opt-out tag is not honoured; `approvals`: per (app,
    rule), its latest approval of a restarting fix (from the state table)."""
    by_key = {(v.app, v.rule): v for v in verdicts}
    rows = []
    for result in results:
        app_tags = (tags or {}).get(result.app, {})
        for control in controls:
            row = _row(result, control, by_key.get((result.app, control.id)), app_tags)
            finding = (history or {}).get((result.app.arn, control.id))
            note = _waiver_text(result, control.id) or (waiver_notes or {}).get(result.app, "")
            approval = (approvals or {}).get((result.app, control.id), "")
            rows.append(
                Row(
                    row.app, control, row.status, row.evidence, row.message, finding, note, approval
                )
            )
    counts: dict[str, Mapping[str, int]] = {
        c.id: {s: sum(1 for r in rows if r.control == c and r.status == s) for s in STATUSES}
        for c in controls
    }
    return Report(
        header,
        tuple(controls),
        tuple(r.app for r in results),
        tuple(rows),
        history is not None,
        counts,
    )


def _row(
    result: ReconcileResult, control: Control, verdict: Verdict | None, tags: Mapping[str, str]
) -> Row:
    app = result.app
    if not control.evaluated:
        return Row(app, control, "not evaluated", "", RULE_DISABLED)
    if result.result == "skipped":  # opted out by tag, or busy
        return Row(app, control, "not evaluated", "", result.error or "skipped")
    if verdict is None:
        if result.result in ("error", "gone"):
            return Row(app, control, "error", "", result.error or result.result)
        return Row(app, control, "not evaluated", "", f"{RULE_DISABLED} for this application")
    why_not = not_applicable(control.id, result.detail or {})
    if why_not and not verdict.drifts:
        return Row(app, control, "not applicable", "", why_not)
    if verdict.violated:
        evidence = "; ".join(
            f"{d.field}: {_value(d.current)} (desired {_value(d.desired)})" for d in verdict.drifts
        )
        message = "; ".join(d.message for d in verdict.drifts)
        return Row(app, control, "violation", evidence, message)
    evidence = evidence_from_detail(control.id, result.detail or {}, tags)
    return Row(app, control, "compliant", evidence)


def _waiver_text(result: ReconcileResult, rule: str) -> str:
    for outcome in result.outcomes:
        waiver = outcome.action.waiver
        if outcome.outcome == "waived" and waiver is not None and rule in outcome.action.rules:
            return f"{waiver.text}: {waiver.id}"
    return ""


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= 300 else text[:297] + "..."
