"""Which fixes restart a running application, and when they may be made.

A change to a RUNNING Managed Flink application's configuration (UpdateApplication, adding or
deleting a logging option, a VPC configuration, an input or output) stops the Flink job and
restarts it from a snapshot. Tags, IAM, log groups and SNS restart nothing. The rule's
`disruption` settings decide what happens to a restarting fix (remediations/disruption.py);
The safeguards (daemon/reconcile/safeguards) remember when the deferred ones may be made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from daemon.state import Action, Call
from remediations.disruption import DEFAULT_DISRUPTION, Disruption, next_opening

# kinesisanalyticsv2 writes that change a running application's configuration.
RESTARTING_OPERATIONS = frozenset(
    {
        "UpdateApplication",
        "AddApplicationCloudWatchLoggingOption",
        "DeleteApplicationCloudWatchLoggingOption",
        "AddApplicationVpcConfiguration",
        "DeleteApplicationVpcConfiguration",
        "AddApplicationInput",
        "AddApplicationInputProcessingConfiguration",
        "DeleteApplicationInputProcessingConfiguration",
        "AddApplicationOutput",
        "DeleteApplicationOutput",
        "AddApplicationReferenceDataSource",
        "DeleteApplicationReferenceDataSource",
    }
)
RESTARTS_TEXT = "restarts the running application"
# What to do with a restarting fix: make it now (None), defer it to this opening, wait for an
# approval (`disruption.running: approved`), or alert.
Decision = datetime | Literal["alert", "approval"] | None
AWAITING_APPROVAL = "deferred (awaiting approval)"
NO_ROLLBACK_TEXT = (
    "held: the application has no system rollback; a failed restart would stop it "
    "(disruption.require_system_rollback)"
)
ROLLBACK_UPDATE = "ApplicationSystemRollbackConfigurationUpdate"


def call_restarts(call: Call) -> bool:
    """Would this call restart the application if it were RUNNING?"""
    return call.service == "kinesisanalyticsv2" and call.operation in RESTARTING_OPERATIONS


def restarts(status: str, calls: Sequence[Call]) -> bool:
    return status == "RUNNING" and any(call_restarts(c) for c in calls)


def rollback_enabled(detail: Mapping[str, Any]) -> bool:
    """Is system rollback enabled in this DescribeApplication ApplicationDetail?"""
    configuration = detail.get("ApplicationConfigurationDescription") or {}
    rollback = configuration.get("ApplicationSystemRollbackConfigurationDescription") or {}
    return rollback.get("RollbackEnabled") is True


def only_enables_rollback(action: Action) -> bool:
    """Does every restarting call only turn system rollback on (the system_rollback fix)?"""
    for call in action.calls:
        if not call_restarts(call):
            continue
        update = call.params.get("ApplicationConfigurationUpdate") or {}
        others = set(call.params) - {"ApplicationName", "ApplicationConfigurationUpdate"}
        if call.operation != "UpdateApplication" or others or set(update) != {ROLLBACK_UPDATE}:
            return False
        if update[ROLLBACK_UPDATE].get("RollbackEnabledUpdate") is not True:
            return False
    return True


def unprotected(settings: Disruption, has_rollback: bool, action: Action) -> bool:
    """Would `action` restart an application that a failed restart would leave stopped, where
    the settings require system rollback? (Its own enabling fix is the way out: never held.)"""
    required = settings.require_system_rollback and not has_rollback
    return required and not only_enables_rollback(action)


def gate(
    action: Action, disruption: Disruption | None, now: datetime, has_rollback: bool = True
) -> Action:
    """The action as it may run at `now`: unchanged, deferred to a window, or alert-only.
    `has_rollback`: the application has system rollback enabled. The settings of a window
    decision are kept on the action (a saved plan checks it still holds)."""
    if not action.restarts or action.held is not None or action.mode == "alert":
        return action
    settings = disruption or DEFAULT_DISRUPTION
    if settings.running != "alert" and unprotected(settings, has_rollback, action):
        return replace(action, held="alerted", reason=NO_ROLLBACK_TEXT)
    recorded = settings.model_dump(mode="json")
    action = replace(action, disruption=tuple((rule, recorded) for rule in action.rules))
    decision = settings.decide(now)
    if decision is None:
        return action
    if decision == "alert":
        reason = f"not applied: {RESTARTS_TEXT} (disruption.running: alert)"
        return replace(action, held="alerted", reason=reason)
    if decision == "approval":  # daemon/reconcile/approvals.py releases an approved one
        # With windows, the daemon looks again (for an approval) when the next one opens.
        opening = next_opening(settings.parsed_windows(), now)
        until = opening.astimezone(UTC) if opening else None
        reason = f"{AWAITING_APPROVAL} ({RESTARTS_TEXT})"
        return replace(action, held="deferred", reason=reason, deferred_until=until)
    until = decision.astimezone(UTC)
    reason = f"deferred until {until.isoformat()} ({RESTARTS_TEXT})"
    return replace(action, held="deferred", reason=reason, deferred_until=until)


def needs_approval(action: Action) -> bool:
    """Do the settings of one of the action's rules say `running: approved`?"""
    return any(settings.get("running") == "approved" for _, settings in action.disruption)


def decided(action: Action) -> Decision:
    """The decision `gate` made for `action`: None (make it now), when it was deferred to,
    "approval" or "alert"."""
    if action.held == "alerted":
        return "alert"
    if action.held == "deferred" and needs_approval(action):
        return "approval"
    return action.deferred_until if action.held == "deferred" else None


def decide_again(action: Action, now: datetime) -> Decision:
    """The decision the settings recorded on `action` give at `now` (for a merged action of
    several rules: alert if one says alert, else approval if one needs it, else deferred if
    one defers)."""
    decisions = [Disruption.model_validate(s).decide(now) for _, s in action.disruption]
    if "alert" in decisions:
        return "alert"
    if "approval" in decisions:
        return "approval"
    openings = [d for d in decisions if isinstance(d, datetime)]
    return max(openings).astimezone(UTC) if openings else None


def decision_word(action: Action) -> str:
    """How the plan output names the decision of `action`: now, deferred or alert."""
    decision = decided(action)
    if decision is None:
        return "now"
    return decision if isinstance(decision, str) else "deferred"


def decision_text(decision: Decision) -> str:
    if decision is None:
        return "to be made at once"
    if decision == "alert":
        return "alert only (disruption.running: alert)"
    if decision == "approval":
        return "awaiting approval (disruption.running: approved)"
    return f"deferred until {decision.astimezone(UTC).isoformat()}"
