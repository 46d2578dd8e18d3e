"""The report as one self-contained HTML file: inline CSS, an inline SVG bar chart (compliant
vs not, per control), one table per application. No scripts, no external URLs; every value
is escaped. Chart bars carry data-control / data-status / data-count for machine checks."""

from __future__ import annotations

from html import escape

from daemon.evidence.report import RULE_DISABLED, STATUSES, Header, Report, Row

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#1d2733}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;width:100%;font-size:.85em}
th,td{border:1px solid #c8d0d8;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef2f5}td.evidence{font-family:monospace;word-break:break-all}
.compliant{color:#16632e}.violation{color:#a4161a;font-weight:bold}
.error{color:#8a5a00;font-weight:bold}.not-applicable,.not-evaluated{color:#6b7785}
dl.header{display:grid;grid-template-columns:max-content auto;gap:2px 1em;font-size:.9em}
dl.header dt{font-weight:bold}dl.header dd{margin:0;font-family:monospace}
.legend span{display:inline-block;margin-right:1.5em}
"""
_BAR_HEIGHT, _GAP, _LABEL_WIDTH, _CHART_WIDTH = 18, 8, 230, 420


def to_html(report: Report) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>flink-remediator compliance report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>flink-remediator compliance report</h1>",
        f"<p>Generated {escape(report.generated_at)} from a read-only pass over "
        f"{len(report.apps)} applications and {len(report.controls)} controls."
        f"{' Finding history from AWS Security Hub.' if report.security_hub else ''}</p>",
        _header(report.header),
        "<h2>Compliant vs not, per control</h2>",
        _chart(report),
        _controls_table(report),
    ]
    for app in report.apps:
        parts.append(
            f'<section class="app" data-app="{escape(app.name)}">'
            f"<h2>{escape(app.name)}</h2><p>{escape(app.arn)}</p>"
        )
        parts.append(_app_table(report.rows_of(app), report.security_hub))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _header(header: Header) -> str:
    """The scope and provenance of the report, as a definition list (also for machine checks:
    each value carries data-field)."""
    fields = (
        ("generated_at", "generated at", header.generated_at),
        ("tool_version", "tool version", f"flink-remediator {header.tool_version}"),
        ("config_file", "config file", header.config_file),
        ("config_sha256", "config sha256", header.config_sha256),
        ("accounts", "accounts", ", ".join(header.accounts)),
        ("regions", "Regions", ", ".join(header.regions)),
        ("caller_arn", "read as (STS GetCallerIdentity)", header.caller_arn or "unknown"),
    )
    items = "".join(
        f'<dt>{escape(label)}</dt><dd data-field="{name}">{escape(value)}</dd>'
        for name, label, value in fields
    )
    return f'<dl class="header">{items}</dl>'


def _chart(report: Report) -> str:
    rows = len(report.controls)
    height = rows * (_BAR_HEIGHT + _GAP) + 30
    width = _LABEL_WIDTH + _CHART_WIDTH + 60
    most = max(
        (c["compliant"] + c["violation"] + c["error"] for c in report.counts.values()), default=0
    )
    scale = _CHART_WIDTH / most if most else 0.0
    svg = [
        f'<svg width="{width}" height="{height}" '
        f'role="img" aria-label="compliant vs not compliant per control">'
    ]
    for index, control in enumerate(report.controls):
        counts = report.counts[control.id]
        y = index * (_BAR_HEIGHT + _GAP)
        svg.append(f'<text x="0" y="{y + 13}" font-size="12">{escape(control.id)}</text>')
        x = float(_LABEL_WIDTH)
        not_compliant = counts["violation"] + counts["error"]
        for status, count, colour in (
            ("compliant", counts["compliant"], "#2e9e4f"),
            ("not-compliant", not_compliant, "#d1343a"),
        ):
            bar = count * scale
            svg.append(
                f'<rect x="{x:.1f}" y="{y}" width="{bar:.1f}" height="{_BAR_HEIGHT}" '
                f'fill="{colour}" data-control="{escape(control.id)}" '
                f'data-status="{status}" data-count="{count}"><title>{escape(control.id)}: '
                f"{count} {status}</title></rect>"
            )
            x += bar
        svg.append(
            f'<text x="{x + 6:.1f}" y="{y + 13}" font-size="12">'
            f"{counts['compliant']} / {counts['compliant'] + not_compliant}</text>"
        )
    legend_y = rows * (_BAR_HEIGHT + _GAP) + 15
    svg.append(
        f'<text x="{_LABEL_WIDTH}" y="{legend_y}" font-size="12">green: compliant, red: '
        "violation or error (not applicable, not evaluated: not drawn)</text></svg>"
    )
    return "".join(svg)


def _controls_table(report: Report) -> str:
    head = "<tr><th>control</th><th>what it checks</th><th>framework references</th>"
    head += "".join(f"<th>{s}</th>" for s in STATUSES)
    body = []
    for c in report.controls:
        counts = report.counts[c.id]
        cells = "".join(f"<td>{counts[s]}</td>" for s in STATUSES)
        summary = c.summary if c.evaluated else f"{c.summary} (not evaluated: {RULE_DISABLED})"
        body.append(
            f'<tr class="control" data-control="{escape(c.id)}" '
            f'data-evaluated="{str(c.evaluated).lower()}"><td>{escape(c.id)}</td>'
            f"<td>{escape(summary)}</td><td>{escape('; '.join(c.references))}</td>{cells}</tr>"
        )
    return f"<table>{head}</tr>{''.join(body)}</table>"


def _app_table(rows: tuple[Row, ...], history: bool) -> str:
    columns = ["control", "references", "status", "evidence", "message", "waiver", "approval"]
    if history:
        columns += ["first seen", "drift by", "fixed at", "fixed by"]
    out = ["<table><tr>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr>"]
    for row in rows:
        css = row.status.replace(" ", "-")
        cells = [
            escape(row.control.id),
            escape("; ".join(row.control.references)),
            f'<span class="{css}">{escape(row.status)}</span>',
            escape(row.evidence),
            escape(row.message),
            escape(row.waiver),
            escape(row.approval),
        ]
        if history:
            f = row.finding
            cells += [
                escape(v)
                for v in (
                    (f.first_seen, f.drift_by, f.fixed_at, f.fixed_by) if f else ("", "", "", "")
                )
            ]
        tds = "".join(
            f'<td class="evidence">{c}</td>' if i == 3 else f"<td>{c}</td>"
            for i, c in enumerate(cells)
        )
        out.append(
            f'<tr class="row" data-control="{escape(row.control.id)}" '
            f'data-status="{escape(row.status)}">{tds}</tr>'
        )
    out.append("</table>")
    return "".join(out)
