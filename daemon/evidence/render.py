"""The report as JSON (format_version 1, fields only ever added) or CSV (RFC 4180; the header's
fields repeated on every row, as the last columns, so that any row stands on its own)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from daemon.evidence.report import FORMAT_VERSION, Report, Row

CSV_COLUMNS = (
    "account",
    "region",
    "application",
    "application_arn",
    "control",
    "summary",
    "references",
    "status",
    "evidence",
    "message",
    "waiver",
    "approval",
    "finding_id",
    "finding_status",
    "first_seen",
    "drift_by",
    "fixed_at",
    "fixed_by",
    "generated_at",
    "tool_version",
    "config_sha256",
    "caller_arn",
    "scope_accounts",
    "scope_regions",
)


def to_json(report: Report) -> str:
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "generated_at": report.generated_at,
        "header": report.header.as_json(),
        "security_hub": report.security_hub,
        "controls": [
            {
                "id": c.id,
                "summary": c.summary,
                "references": list(c.references),
                "evaluated": c.evaluated,
                "counts": dict(report.counts.get(c.id, {})),
            }
            for c in report.controls
        ],
        "applications": [
            {
                "name": app.name,
                "arn": app.arn,
                "account": app.account,
                "region": app.region,
                "controls": [_row_json(r) for r in report.rows_of(app)],
            }
            for app in report.apps
        ],
    }
    return json.dumps(doc, indent=2)


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "control": row.control.id,
        "status": row.status,
        "evidence": row.evidence,
        "message": row.message,
        "waiver": row.waiver,
        "approval": row.approval,
        "references": list(row.control.references),
        "finding": row.finding.as_json() if row.finding else None,
    }


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    h = report.header
    accounts, regions = " ".join(h.accounts), " ".join(h.regions)
    scope = (h.generated_at, h.tool_version, h.config_sha256, h.caller_arn, accounts, regions)
    for row in report.rows:
        f = row.finding
        writer.writerow(
            (
                row.app.account,
                row.app.region,
                row.app.name,
                row.app.arn,
                row.control.id,
                row.control.summary,
                "; ".join(row.control.references),
                row.status,
                row.evidence,
                row.message,
                row.waiver,
                row.approval,
                f.finding_id if f else "",
                f.status if f else "",
                f.first_seen if f else "",
                f.drift_by if f else "",
                f.fixed_at if f else "",
                f.fixed_by if f else "",
                *scope,
            )
        )
    return out.getvalue()
