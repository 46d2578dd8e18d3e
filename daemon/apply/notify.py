"""Notifications for alert-only findings: one SNS message when a violation opens or gains findings.

A rule asks for them by overriding `Rule.notify_topic`; plan() copies its topic onto
the rule's alert action and the executor hands alerted actions here. Sweeps re-find an open
violation every few minutes, so the notifier's memory (the daemon's safeguards) keeps what was
already announced per application and rule, and the notifier publishes again only for new
findings (or after the violation cleared and came back). A failed publish is logged and counted
(aws_errors_total), never fails the reconcile: the violation gauge and the audit line are the
primary signal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import structlog

from daemon import errors
from daemon.aws import Aws
from daemon.state import Action, AppRef, Cause

log = structlog.get_logger(__name__)

SUBJECT_LIMIT = 100  # SNS rejects longer subjects


def message(action: Action, cause: Cause) -> tuple[str, str]:
    """Subject and body of the notification for an alerted action."""
    app = action.app
    rules = ", ".join(action.rules)
    subject = f"flink-remediator: {rules} violation on {app.name}"[:SUBJECT_LIMIT]
    lines = [
        f"Application {app.name} ({app.arn}) violates {rules}:",
        *(f"- {d.message}" for d in action.drifts),
        "",
        f"Account {app.account}, region {app.region}; found by a {cause.trigger} reconcile.",
    ]
    if cause.actor:
        lines.append(f"Triggering change by {cause.actor} (CloudTrail event {cause.event_id}).")
    return subject, "\n".join(lines)


class AlertMemory(Protocol):
    """What was announced (daemon/reconcile/safeguards keeps it)."""

    def announced(self, app: AppRef, rules: Iterable[str], findings: frozenset[str]) -> bool: ...

    def record_announced(
        self, app: AppRef, rules: Iterable[str], findings: frozenset[str]
    ) -> None: ...

    def forget_cleared(self, app: AppRef, still_alerted: Iterable[str]) -> None: ...


class Notifier:
    def __init__(self, memory: AlertMemory) -> None:
        self._memory = memory

    def notify(self, aws: Aws, action: Action, cause: Cause) -> bool:
        """Publish for an alerted action unless everything in it was already announced.
        True if a message was sent."""
        findings = frozenset(d.field for d in action.drifts)
        if self._memory.announced(action.app, action.rules, findings):
            return False
        subject, body = message(action, cause)
        try:
            aws.call("sns", "Publish", TopicArn=action.notify_topic, Subject=subject, Message=body)
        except errors.AwsError as exc:
            log.warning(
                "notification_failed",
                app=action.app.name,
                rules=action.rules,
                topic=action.notify_topic,
                error=str(exc),
            )
            return False  # not remembered: the next reconcile tries again
        self._memory.record_announced(action.app, action.rules, findings)
        log.info(
            "notification_sent",
            app=action.app.name,
            rules=action.rules,
            topic=action.notify_topic,
            findings=sorted(findings),
        )
        return True

    def forget_cleared(self, app: AppRef, still_alerted: Iterable[str]) -> None:
        """After a reconcile of `app`: rules no longer alerted are clear, so a violation that
        comes back is announced again."""
        self._memory.forget_cleared(app, still_alerted)
