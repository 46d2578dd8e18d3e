"""Render the results of a pass as reviewable text or as stable JSON.

JSON (format_version 1) is documented in docs/plan-output.md; fields are only ever added. The
same document is the saved plan that `apply --plan-file` applies.

Text is plain lines that never depend on the terminal width (no table, no folding, no cut
values): one block per application that drifted or failed, one line per change with before ->
after, then the reason, the resource the fix changes and the overrides that set the rule.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from daemon.apply.executor import ActionOutcome
from daemon.reconcile.disruption import RESTARTS_TEXT, call_restarts, decision_word
from daemon.reconcile.result import ReconcileResult
from daemon.state import Action, AppRef, Drift

FORMAT_VERSION = 1
# The saved plan `apply --plan-file` accepts: 2 records each restarting fix's disruption
# decision and the roles of the accounts (a version 1 plan could not be applied faithfully).
PLAN_FORMAT_VERSION = 2

# app -> rule id -> names of the overrides that set something for that rule on that app
Overrides = Mapping[AppRef, Mapping[str, tuple[str, ...]]]

_VERBS = {
    "planned": "would apply",
    "applied": "applied",
    "alerted": "alert only",
    "failed": "FAILED",
    "skipped": "skipped",
    "pending": "applying (following the change)",
    "deferred": "deferred",
    "rolled_back": "ROLLED BACK",
    "stopped": "STOPPED THE APPLICATION",
    "waived": "waived",
}


def to_json(
    results: Sequence[ReconcileResult],
    dry_run: bool,
    overrides: Overrides | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    apps = [_app_json(r, (overrides or {}).get(r.app, {})) for r in results]
    by_outcome: Counter[str] = Counter()
    for app in apps:
        for action in app["actions"]:
            by_outcome[action["outcome"]] += len(action["changes"])
    summary = {
        "applications": len(results),
        "with_drift": sum(1 for r in results if r.plan and r.plan.drifts),
        "changes": sum(by_outcome.values()),
        "errors": sum(1 for r in results if r.result == "error"),
        "changes_by_outcome": dict(sorted(by_outcome.items())),
    }
    doc: dict[str, Any] = {"format_version": FORMAT_VERSION, "dry_run": dry_run}
    if dry_run:  # a plan: what `apply --plan-file` accepts
        doc["plan_format_version"] = PLAN_FORMAT_VERSION
    doc["applications"] = apps
    doc["summary"] = summary
    doc.update(extra or {})
    return json.dumps(doc, indent=2, sort_keys=False, default=str)


def _app_json(result: ReconcileResult, overrides: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    actions = []
    for outcome in result.outcomes:
        action = outcome.action
        actions.append(
            {
                "rules": list(action.rules),
                "mode": action.mode,
                "outcome": outcome.outcome,
                **({"error": outcome.error} if outcome.error else {}),
                **({"notify_topic": action.notify_topic} if action.notify_topic else {}),
                "restarts": action.restarts,
                **({"reason": action.reason} if action.reason else {}),
                **(
                    {"deferred_until": action.deferred_until.isoformat()}
                    if action.deferred_until
                    else {}
                ),
                **({"operation_id": outcome.operation_id} if outcome.operation_id else {}),
                **({"waiver": action.waiver.fields()} if action.waiver else {}),
                **({"approval": action.approval.fields()} if action.approval else {}),
                **({"disruption": _disruption_json(action)} if action.disruption else {}),
                "calls": [
                    {
                        "service": c.service,
                        "operation": c.operation,
                        "params": dict(c.params),
                        "resource": c.resource,
                        "versioned": c.versioned,
                        "restarts_running_application": call_restarts(c),
                    }
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
                        "resource": d.resource or result.app.arn,
                        "overrides": list(overrides.get(d.rule, ())),
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


def _disruption_json(action: Action) -> dict[str, Any]:
    rules = {rule: dict(settings) for rule, settings in action.disruption}
    return {"decision": decision_word(action), "rules": rules}


def render_text(
    results: Sequence[ReconcileResult],
    out: TextIO,
    dry_run: bool,
    overrides: Overrides | None = None,
) -> None:
    quiet: dict[str, list[str]] = {}
    for result in results:
        if not result.outcomes and result.result != "error":
            note = f" ({result.error})" if result.error else ""
            quiet.setdefault(result.result, []).append(f"{result.app.name}{note}")
            continue
        print("\n".join(app_block(result, (overrides or {}).get(result.app, {}))), file=out)
        print(file=out)
    for kind, names in sorted(quiet.items()):
        print(f"{kind.replace('_', ' ')}: {', '.join(names)}", file=out)
    print(summary_line(results, dry_run), file=out)


def app_block(result: ReconcileResult, overrides: Mapping[str, tuple[str, ...]]) -> list[str]:
    app = result.app
    version = f", version {result.plan.version_id}" if result.plan else ""
    lines = [f"{app.name}  {app.arn}{version}: {result.result}"]
    if result.error:
        lines.append(f"  error: {result.error}")
    for outcome in result.outcomes:
        lines += _action_lines(outcome, app, overrides)
    return lines


def _action_lines(
    outcome: ActionOutcome, app: AppRef, overrides: Mapping[str, tuple[str, ...]]
) -> list[str]:
    action = outcome.action
    calls = ", ".join(c.operation for c in action.calls) or "none (alert)"
    verb = _VERBS.get(outcome.outcome, outcome.outcome)
    if action.reason and outcome.outcome == action.held:
        verb = action.reason  # e.g. "deferred until ... (restarts the running application)"
    elif action.restarts:
        verb = f"{verb} ({RESTARTS_TEXT})"
    lines = [f"  {'+'.join(action.rules)} [{action.mode}] {verb}: {calls}"]
    if outcome.error and outcome.error != action.reason:
        lines.append(f"    error: {outcome.error}")
    for drift in action.drifts:
        lines += _drift_lines(drift, app, overrides.get(drift.rule, ()))
    return lines


def _drift_lines(drift: Drift, app: AppRef, overrides: tuple[str, ...]) -> list[str]:
    lines = [
        f"    ~ {drift.field}: {value_text(drift.current)} -> {value_text(drift.desired)}",
        f"      reason: {drift.message}",
        f"      resource: {drift.resource or app.arn}",
    ]
    if overrides:
        lines.append(f"      overrides: {', '.join(overrides)}")
    if not drift.fixable:
        lines.append("      not fixable automatically")
    return lines


def summary_line(results: Sequence[ReconcileResult], dry_run: bool) -> str:
    """E.g. "3 applications, 2 with drift, 12 fields would change, 2 deferred, 1 held, 0 errors":
    every change a fix was planned for is counted somewhere, none silently left out."""
    drifted = sum(1 for r in results if r.plan and r.plan.drifts)
    errors = sum(1 for r in results if r.result == "error")
    counts: Counter[str] = Counter()
    for outcome in (o for r in results for o in r.outcomes):
        counts[_summary_kind(outcome, dry_run)] += len(outcome.action.drifts)
    verb = "would change" if dry_run else "changed"
    parts = [
        plural(len(results), "application"),
        f"{drifted} with drift",
        f"{plural(counts['changed'], 'field')} {verb}",
        *(
            f"{counts[kind]} {kind}"
            for kind in ("applying", "deferred", "held", "waived")
            if counts[kind]
        ),
        plural(errors, "error"),
    ]
    return ", ".join(parts)


def _summary_kind(outcome: ActionOutcome, dry_run: bool) -> str:
    """Where a fix's changes count in the summary line ("" for alerts and failures)."""
    if outcome.outcome == ("planned" if dry_run else "applied"):
        return "changed"
    if outcome.outcome == "pending":
        return "applying"
    if outcome.outcome in ("deferred", "waived"):
        return outcome.outcome
    held = outcome.outcome == "skipped" or outcome.action.held == "alerted"
    return "held" if held else ""


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def value_text(value: Any) -> str:
    """The whole value on one line: strings as they are, an absent value as (none), everything
    else as compact JSON."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        plain = value and value.strip() == value and value.isprintable()
        return value if plain else json.dumps(value)
    return json.dumps(value, default=str, sort_keys=True, separators=(", ", ": "))
