"""Plan: pure code that turns an observation and the enabled rules into actions.

Several rules that each want UpdateApplication on one application share one call (one version
bump), so the plan shows one action with several changes. Before merging, each rule's action
is held when it may not run now (`holds`: the fix budget, a backoff) or when it would restart
the running application outside what its `disruption` settings allow (a window, or an app
without system rollback): a held rule drops out of the merged call and the others proceed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from daemon.apply.merge import MergeConflict, deep_merge
from daemon.reconcile.disruption import gate, restarts, rollback_enabled
from daemon.state import Action, Call, Drift, Mode, Observed, Plan, WaiverRef
from remediations.base import AnyRule, RuleSettings

MERGEABLE_OPERATIONS = frozenset({("kinesisanalyticsv2", "UpdateApplication")})
__all__ = ["MergeConflict", "deep_merge", "merge_updates", "plan"]


def plan(
    observed: Observed,
    rules: Sequence[tuple[AnyRule, RuleSettings, Mode]],
    now: datetime | None = None,
    hold: Callable[[str], str] | None = None,
    waived: Mapping[str, WaiverRef] | None = None,
) -> Plan:
    """`now` decides disruption windows; `hold(rule id)`: why that rule's fix must wait, ""
    if it may run (asked only for rules with a fix; the drift is still reported, skipped).
    `waived`: rule id -> the waiver in force for it: its drifts are reported `waived`, with no
    calls (never fixed, never alerted)."""
    moment = now or datetime.now(UTC)
    has_rollback = rollback_enabled(observed.detail)
    actions: list[Action] = []
    for rule, settings, mode in rules:
        if not rule.applies(observed.detail):
            continue
        drifts = rule.check(settings, observed)
        if not drifts:
            continue
        waiver = (waived or {}).get(rule.id)
        if waiver is not None:
            actions.append(
                Action(observed.app, (rule.id,), mode, drifts, held="waived", reason=waiver.text)
            )
            actions[-1] = replace(actions[-1], waiver=waiver)
            continue
        if mode == "alert":
            actions.append(_alert(rule, settings, observed, drifts))
            continue
        fixable = tuple(d for d in drifts if d.fixable)
        unfixable = tuple(d for d in drifts if not d.fixable)
        calls = rule.fix(settings, observed, fixable) if fixable else ()
        if calls:
            fix = _fix(rule, mode, observed, fixable, calls, hold)
            actions.append(gate(fix, settings.disruption, moment, has_rollback))
        else:
            unfixable = drifts
        if unfixable:
            actions.append(_alert(rule, settings, observed, unfixable))
    return Plan(observed.app, observed.version_id, tuple(merge_updates(actions)))


def _fix(
    rule: AnyRule,
    mode: Mode,
    observed: Observed,
    fixable: tuple[Drift, ...],
    calls: tuple[Call, ...],
    hold: Callable[[str], str] | None,
) -> Action:
    """The fix action of `rule`, held (skipped) when `hold` says why it must wait."""
    allowed = frozenset(rule.write_actions)
    action = Action(observed.app, (rule.id,), mode, fixable, calls, allowed)
    action = replace(action, restarts=restarts(observed.status, calls))
    reason = hold(rule.id) if hold is not None and mode == "enforce" else ""
    return replace(action, held="skipped", reason=reason) if reason else action


def _alert(
    rule: AnyRule, settings: RuleSettings, observed: Observed, drifts: tuple[Drift, ...]
) -> Action:
    topic = rule.notify_topic(settings, observed.app)
    return Action(observed.app, (rule.id,), "alert", drifts, notify_topic=topic or "")


def merge_updates(actions: Sequence[Action]) -> list[Action]:
    """Fold the UpdateApplication calls of actions with the same mode into one action."""
    merged: list[Action] = []
    for action in actions:
        target = next((m for m in merged if _mergeable(m, action)), None)
        if target is None:
            merged.append(action)
            continue
        try:
            combined = _combine(target, action)
        except MergeConflict:
            merged.append(action)
            continue
        merged[merged.index(target)] = combined
    return merged


def _update_call(action: Action) -> Call | None:
    return next((c for c in action.calls if (c.service, c.operation) in MERGEABLE_OPERATIONS), None)


def _mergeable(a: Action, b: Action) -> bool:
    return (
        a.mode == b.mode
        and a.mode != "alert"
        and a.held is None
        and b.held is None
        and _update_call(a) is not None
        and _update_call(b) is not None
    )


def _combine(a: Action, b: Action) -> Action:
    update_a, update_b = _update_call(a), _update_call(b)
    assert update_a is not None and update_b is not None
    update = Call(
        update_a.service,
        update_a.operation,
        deep_merge(update_a.params, update_b.params),
        resource=update_a.resource,
        versioned=True,
    )
    others = tuple(c for c in a.calls + b.calls if c not in (update_a, update_b))
    drifts: tuple[Drift, ...] = a.drifts + b.drifts
    allowed = a.write_actions | b.write_actions
    parts = (a.parts or (a,)) + (b.parts or (b,))
    calls = (*others, update)
    return Action(
        a.app,
        a.rules + b.rules,
        a.mode,
        drifts,
        calls,
        allowed,
        restarts=a.restarts or b.restarts,
        disruption=a.disruption + b.disruption,
        parts=parts,
    )
