"""Saved plans: `plan --out FILE` writes the JSON document, `apply --plan-file FILE` applies
exactly what it shows as to be applied, like terraform's saved plans.

Nothing is re-planned. Only the actions the plan shows `planned` (or alert-only) are carried
out; an action it shows alerted, deferred, skipped or failed is recorded again with the same
outcome and reason, never sent. Before the first call every application in the plan is
described again; the whole plan is refused as stale (exit 3) if one is gone, its version id
moved, a fix would now restart it where the plan said it would not, or a restarting fix's
disruption decision (make it now, defer it to a window, alert only) is no longer what the plan
recorded: a plan made outside a window is not approved by the window opening, and one made
inside it does not run after it closed. Versioned Managed Flink calls carry the planned version
id, so a change made between that check and the call is refused by AWS itself. The roles the
plan was made through (`assume_roles`) reach the member accounts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from daemon import errors
from daemon.aws import Aws
from daemon.reconcile.disruption import (
    decide_again,
    decided,
    decision_text,
    decision_word,
    restarts,
)
from daemon.reconcile.observe import describe
from daemon.reconcile.report import FORMAT_VERSION, PLAN_FORMAT_VERSION, Overrides
from daemon.sessions import AccountAccess
from daemon.state import MODES, Action, AppRef, Call, Drift, Plan
from daemon.vocabulary import Outcome
from remediations import RULES
from remediations.disruption import Disruption

# Outcomes a plan gives an action it does not carry out (each is recorded again, not sent).
HELD: dict[str, Outcome] = {o: o for o in ("alerted", "deferred", "skipped", "failed", "waived")}


class PlanFileError(errors.RemediatorError):
    """A plan file cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class SavedPlan:
    path: str
    plans: tuple[Plan, ...]
    # account -> the role the plan reached it through (accounts not listed: the credentials').
    accesses: Mapping[str, AccountAccess]
    # app -> rule -> the overrides that set it when the plan was made (for the report).
    overrides: Overrides


def load_plan(path: str) -> SavedPlan:
    doc = _plan_document(path)
    try:
        apps = [app for app in doc["applications"] if app.get("actions")]
        plans = tuple(_plan(app) for app in apps)
        overrides = {plan.app: _overrides(app) for plan, app in zip(plans, apps, strict=True)}
        accesses = {
            str(account): AccountAccess(
                str(account), str(role["role_arn"]), role.get("external_id") or None
            )
            for account, role in doc.get("assume_roles", {}).items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"{path}: malformed plan: missing or bad {exc}") from exc
    return SavedPlan(path, plans, accesses, overrides)


def _plan_document(path: str) -> dict[str, Any]:
    """The JSON document of a complete plan this version can apply (else PlanFileError)."""
    try:
        with open(path, encoding="utf-8") as stream:
            doc = json.load(stream)
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise PlanFileError(f"{path}: not a JSON plan: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION:
        raise PlanFileError(f"{path}: not a format_version {FORMAT_VERSION} plan document")
    if doc.get("dry_run") is not True:
        raise PlanFileError(f"{path}: this is the report of an apply, not a plan")
    if doc.get("interrupted"):
        raise PlanFileError(f"{path}: this plan was interrupted and is incomplete")
    version = doc.get("plan_format_version")
    if version != PLAN_FORMAT_VERSION:
        newer = isinstance(version, int) and version > PLAN_FORMAT_VERSION
        made = "a newer" if newer else "an older"
        raise PlanFileError(
            f"{path}: plan_format_version {version} was written by {made} flink-remediator; "
            f"this one applies plan_format_version {PLAN_FORMAT_VERSION} only: run plan again"
        )
    return doc


def _plan(app: dict[str, Any]) -> Plan:
    ref = AppRef(str(app["account"]), str(app["region"]), str(app["name"]))
    actions = tuple(_action(ref, a) for a in app["actions"])
    return Plan(ref, int(app["version_id"]), actions)


def _overrides(app: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    changes = [c for action in app["actions"] for c in action["changes"]]
    return {str(c["rule"]): tuple(str(o) for o in c.get("overrides", ())) for c in changes}


def _action(app: AppRef, action: dict[str, Any]) -> Action:
    if action["mode"] not in MODES:
        raise ValueError(f"mode {action['mode']!r}")
    drifts = tuple(
        Drift(
            str(c["rule"]),
            app,
            str(c["field"]),
            c["current"],
            c["desired"],
            str(c["message"]),
            bool(c["fixable"]),
            str(c.get("resource", "")),
        )
        for c in action["changes"]
    )
    calls = tuple(
        Call(
            str(c["service"]),
            str(c["operation"]),
            dict(c["params"]),
            str(c.get("resource", "")),
            bool(c.get("versioned", False)),
        )
        for c in action["calls"]
    )
    rules = tuple(str(r) for r in action["rules"])
    loaded = Action(
        app,
        rules,
        action["mode"],
        drifts,
        calls,
        # What these rules may write today: a plan file cannot widen the daemon's writes.
        write_actions=frozenset().union(*(RULES[r].write_actions for r in rules if r in RULES)),
        notify_topic=str(action.get("notify_topic", "")),
        restarts=bool(action.get("restarts", False)),
        disruption=_disruption(action.get("disruption")),
    )
    return _as_planned(loaded, action)


def _as_planned(loaded: Action, action: dict[str, Any]) -> Action:
    """The action as the plan said it would go: carried out (`planned`, or an alert), or held
    with the plan's outcome and reason."""
    outcome = str(action["outcome"])
    if outcome == "planned" or (outcome == "alerted" and loaded.alert_only):
        held = loaded
    elif outcome in HELD:
        until = action.get("deferred_until")
        held = replace(
            loaded,
            held=HELD[outcome],
            reason=str(action.get("reason") or action.get("error") or outcome),
            deferred_until=datetime.fromisoformat(until) if until else None,
        )
    else:
        raise ValueError(f"outcome {outcome!r}")
    recorded = action.get("disruption")
    if recorded and recorded.get("decision") != decision_word(held):
        raise ValueError(f"disruption decision {recorded.get('decision')!r} for {outcome!r}")
    to_run = held.held is None and not held.alert_only and held.mode == "enforce"
    if to_run and held.restarts and not held.disruption:
        raise ValueError("disruption: a restarting fix without its decision")
    return held


def _disruption(recorded: Any) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    if not recorded:
        return ()
    rules = recorded["rules"]
    for settings in rules.values():
        Disruption.model_validate(settings)  # the apply decides with them again
    return tuple((str(rule), dict(settings)) for rule, settings in rules.items())


def unreachable(saved: SavedPlan, apps: Sequence[AppRef], own_account: str) -> list[str]:
    """Accounts of `apps` that are neither the credentials' own nor reached through a role."""
    accounts = sorted({app.account for app in apps})
    return [a for a in accounts if a != own_account and a not in saved.accesses]


def stale_apps(plans: Sequence[Plan], aws_for: Callable[[AppRef], Aws], now: datetime) -> list[str]:
    """One line per application that changed since the plan was made, or whose restarting
    fixes would now be decided otherwise (empty: the plan still holds at `now`)."""
    stale = []
    for plan in plans:
        try:
            detail, _ = describe(aws_for(plan.app), plan.app)
        except errors.ApplicationGone:
            stale.append(f"{plan.app.name} no longer exists")
            continue
        version = int(detail.get("ApplicationVersionId", 0))
        if version != plan.version_id:
            stale.append(f"{plan.app.name} is at version {version}, planned at {plan.version_id}")
            continue
        status = str(detail.get("ApplicationStatus", ""))
        stale += [f"{plan.app.name}: {p}" for a in plan.actions if (p := _changed(a, status, now))]
    return stale


def _changed(action: Action, status: str, now: datetime) -> str:
    """Why the plan's word on this action no longer holds ("" if it does)."""
    if action.alert_only or action.mode != "enforce":
        return ""
    rules = "+".join(action.rules)
    if restarts(status, action.calls) and not action.restarts:
        return f"{rules} would now restart the application ({status}), the plan said it would not"
    if not action.disruption:
        return ""
    was, is_now = decided(action), decide_again(action, now)
    if was == is_now:
        return ""
    return f"{rules}: the plan said {decision_text(was)}, now {decision_text(is_now)}"
