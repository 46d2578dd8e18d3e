"""Saved plans: `plan --out FILE` writes the JSON document, `apply --plan-file FILE` applies
exactly the calls in it, like terraform's saved plans.

Nothing is re-planned. Before the first call every application in the plan is described again;
if one is gone or its version id moved since the plan was made, the whole plan is refused as
stale (exit 3). Versioned Managed Flink calls also carry the planned version id, so a change
made between that check and the call is refused by AWS itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from daemon import errors
from daemon.aws import Aws
from daemon.reconcile.observe import describe
from daemon.reconcile.report import FORMAT_VERSION
from daemon.state import MODES, Action, AppRef, Call, Drift, Plan
from remediations import RULES


class PlanFileError(errors.RemediatorError):
    """A plan file cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class SavedPlan:
    path: str
    plans: tuple[Plan, ...]


def load_plan(path: str) -> SavedPlan:
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
    try:
        plans = tuple(_plan(app) for app in doc["applications"] if app.get("actions"))
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"{path}: malformed plan: missing or bad {exc}") from exc
    return SavedPlan(path, plans)


def _plan(app: dict[str, Any]) -> Plan:
    ref = AppRef(str(app["account"]), str(app["region"]), str(app["name"]))
    actions = tuple(_action(ref, a) for a in app["actions"])
    return Plan(ref, int(app["version_id"]), actions)


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
    return Action(
        app,
        rules,
        action["mode"],
        drifts,
        calls,
        # What these rules may write today: a plan file cannot widen the daemon's writes.
        write_actions=frozenset().union(*(RULES[r].write_actions for r in rules if r in RULES)),
        notify_topic=str(action.get("notify_topic", "")),
    )


def stale_apps(plans: Sequence[Plan], aws_for: Callable[[AppRef], Aws]) -> list[str]:
    """One line per application that changed since the plan was made (empty: still current)."""
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
    return stale
