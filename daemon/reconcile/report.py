"""Render the results of a pass as `terraform plan`-style text or as stable JSON.

JSON (format_version 1) is documented in docs/plan-output.md; fields are only ever added.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from daemon.reconcile.reconciler import ReconcileResult

FORMAT_VERSION = 1


def to_json(results: Sequence[ReconcileResult], dry_run: bool) -> str:
    apps = [_app_json(r) for r in results]
    summary = {
        "applications": len(results),
        "with_drift": sum(1 for r in results if r.plan and r.plan.drifts),
        "changes": sum(len(a["changes"]) for app in apps for a in app["actions"]),
        "errors": sum(1 for r in results if r.result == "error"),
    }
    doc = {"format_version": FORMAT_VERSION, "dry_run": dry_run, "applications": apps}
    doc["summary"] = summary
    return json.dumps(doc, indent=2, sort_keys=False, default=str)


def _app_json(result: ReconcileResult) -> dict[str, Any]:
    actions = []
    for outcome in result.outcomes:
        action = outcome.action
        actions.append(
            {
                "rules": list(action.rules),
                "mode": action.mode,
                "outcome": outcome.outcome,
                **({"error": outcome.error} if outcome.error else {}),
                "calls": [
                    {"service": c.service, "operation": c.operation, "params": dict(c.params)}
                    for c in action.calls
                ],
                "changes": [
                    {
                        "rule": d.rule,
                        "field": d.field,
                        "current": d.current,
                        "desired": d.desired,
                        "message": d.message,
                        "fixable": d.fixable,
                        "resource": d.resource,
                    }
                    for d in action.drifts
                ],
            }
        )
    return {
        "arn": result.app.arn,
        "account": result.app.account,
        "region": result.app.region,
        "name": result.app.name,
        "result": result.result,
        "version_id": result.plan.version_id if result.plan else None,
        **({"error": result.error} if result.error else {}),
        "actions": actions,
    }


def render_text(results: Sequence[ReconcileResult], console: Console, dry_run: bool) -> None:
    for result in results:
        if not result.outcomes:
            note = f" ({result.error})" if result.error else ""
            console.print(
                f"[bold]{result.app.name}[/bold] {result.app.region}: {result.result}{note}"
            )
            continue
        table = Table(title=f"{result.app.name}  {result.app.arn}", title_justify="left")
        for column in ("rule", "field", "current -> desired", "action", "mode", "outcome"):
            table.add_column(column, overflow="fold")
        for outcome in result.outcomes:
            calls = ", ".join(c.operation for c in outcome.action.calls) or "alert"
            for d in outcome.action.drifts:
                table.add_row(
                    d.rule,
                    d.field,
                    f"{_short(d.current)} -> {_short(d.desired)}",
                    calls,
                    outcome.action.mode,
                    outcome.outcome + (f": {outcome.error}" if outcome.error else ""),
                )
        console.print(table)
    drifted = sum(1 for r in results if r.plan and r.plan.drifts)
    errors = sum(1 for r in results if r.result == "error")
    verb = "would change" if dry_run else "changed"
    changes = sum(
        len(o.action.drifts)
        for r in results
        for o in r.outcomes
        if o.outcome in ("applied", "planned")
    )
    console.print(
        f"{len(results)} applications, {drifted} with drift, {changes} fields {verb}, "
        f"{errors} errors"
    )


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."
