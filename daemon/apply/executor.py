"""Apply: the only code that sends mutating AWS calls.

It owns modes (enforce, dry-run, alert) and version tokens. Concurrent modification and
"resource in use" are raised to the reconciler, which re-observes and re-plans; permanent
errors are recorded and never retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from daemon import errors
from daemon.apply import audit
from daemon.apply.audit import Cause, Outcome
from daemon.apply.aws import Aws
from daemon.apply.notify import NOTIFIER, Notifier
from daemon.iam_actions import iam_action
from daemon.reconcile.observe import TRANSITIONAL_STATUSES
from daemon.state import Action, AppRef, Call, Plan
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)

# May `rule` still fix the app? (the fight budget; the actor is who caused the drift)
Guard = Callable[[AppRef, str, str], bool]


@dataclass(frozen=True)
class ActionOutcome:
    action: Action
    outcome: Outcome
    error: str = ""
    retryable: bool = False  # a transient failure: the triggering event should come back


@dataclass
class _Version:
    """The application's version id as it moves with each versioned call we make."""

    current: int
    calls_made: int = 0


class Executor:
    def __init__(
        self,
        aws: Aws,
        dry_run: bool = False,
        guard: Guard | None = None,
        settle_timeout_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        notifier: Notifier = NOTIFIER,
    ) -> None:
        self._aws = aws
        self._dry_run = dry_run
        self._guard = guard
        self._settle_timeout = settle_timeout_seconds
        self._sleep = sleep
        self._notifier = notifier

    def execute(self, plan: Plan, cause: Cause) -> tuple[ActionOutcome, ...]:
        version = _Version(plan.version_id)
        outcomes = tuple(self._execute_action(a, version, cause) for a in plan.actions)
        if not self._dry_run:
            alerted = {r for o in outcomes if o.outcome == "alerted" for r in o.action.rules}
            self._notifier.forget_cleared(plan.app, alerted)
        return outcomes

    def _execute_action(self, action: Action, version: _Version, cause: Cause) -> ActionOutcome:
        if action.alert_only:
            if action.notify_topic and not self._dry_run:
                self._notifier.notify(self._aws, action, cause)
            return self._finish(action, "alerted", cause)
        undeclared = sorted({iam_action(c.service, c.operation) for c in action.calls})
        undeclared = [a for a in undeclared if a not in action.write_actions]
        if undeclared:  # a rule bug: refused before any call, in dry-run too
            error = errors.UndeclaredAction(
                undeclared[0],
                f"{', '.join(undeclared)} not among the write actions of {', '.join(action.rules)}",
            )
            return self._finish(action, "failed", cause, str(error))
        if self._dry_run or action.mode == "dry-run":
            return self._finish(action, "planned", cause)
        if self._guard is not None and not all(
            self._guard(action.app, r, cause.actor) for r in action.rules
        ):
            return self._finish(action, "skipped", cause, "fix budget exhausted")
        started = time.monotonic()
        try:
            for call in action.calls:
                self._send(call, action.app, version)
        except (errors.ConcurrentModification, errors.ResourceInUse):
            raise
        except errors.TransientAwsError as exc:
            return self._finish(action, "failed", cause, str(exc), retryable=True)
        except errors.PermanentAwsError as exc:
            return self._finish(action, "failed", cause, str(exc))
        finally:
            for rule in action.rules:
                metrics.observe_remediation_duration(rule, time.monotonic() - started)
        return self._finish(action, "applied", cause)

    def _send(self, call: Call, app: AppRef, version: _Version) -> None:
        params: dict[str, Any] = dict(call.params)
        if call.versioned:
            if version.calls_made:
                # Our previous call put the app in UPDATING; the next one would be refused.
                version.current = self.wait_until_settled(app)
            params["CurrentApplicationVersionId"] = version.current
        response = self._aws.call(call.service, call.operation, **params)
        if call.versioned:
            version.current = _new_version(response, version.current)
            version.calls_made += 1

    def wait_until_settled(self, app: AppRef) -> int:
        """Poll (with backoff) until the app leaves a transitional status; its version id."""
        deadline = time.monotonic() + self._settle_timeout
        delay = 0.1
        while True:
            detail = self._aws.call(
                "kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name
            )["ApplicationDetail"]
            if detail["ApplicationStatus"] not in TRANSITIONAL_STATUSES:
                return int(detail["ApplicationVersionId"])
            if time.monotonic() > deadline:
                raise errors.ResourceInUse(
                    "DescribeApplication",
                    "ResourceInUseException",
                    f"{app.name} still {detail['ApplicationStatus']} after "
                    f"{self._settle_timeout:.0f}s",
                )
            self._sleep(delay)
            delay = min(delay * 2, 5.0)

    def _finish(
        self,
        action: Action,
        outcome: Outcome,
        cause: Cause,
        error: str = "",
        retryable: bool = False,
    ) -> ActionOutcome:
        audit.record(action, outcome, cause, error)
        for rule in action.rules:
            metrics.count_remediation(rule, outcome, action.mode)
        return ActionOutcome(action, outcome, error, retryable)


def _new_version(response: Mapping[str, Any], previous: int) -> int:
    if "ApplicationVersionId" in response:
        return int(response["ApplicationVersionId"])
    detail = response.get("ApplicationDetail")
    if isinstance(detail, Mapping) and "ApplicationVersionId" in detail:
        return int(detail["ApplicationVersionId"])
    return previous + 1
