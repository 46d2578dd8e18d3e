"""Apply: the only code that sends mutating AWS calls.

It owns modes (enforce, dry-run, alert) and version tokens. Concurrent modification and
"resource in use" are raised to the reconciler, which re-observes and re-plans; permanent
errors are recorded and never retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import structlog

from daemon import errors
from daemon.apply import audit
from daemon.apply.notify import Notifier
from daemon.aws import Aws
from daemon.iam_actions import iam_action
from daemon.state import TRANSITIONAL_STATUSES, Action, AppRef, Call, Cause, Mode, Plan
from daemon.telemetry import metrics
from daemon.vocabulary import Outcome

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
        notifier: Notifier,
        dry_run: bool = False,
        guard: Guard | None = None,
        settle_timeout_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._aws = aws
        self._dry_run = dry_run
        self._guard = guard
        self._settle_timeout = settle_timeout_seconds
        self._sleep = sleep
        self._notifier = notifier
        # Writes whose reply was lost, waiting for the re-read that tells if they took effect.
        self._unconfirmed: list[tuple[Action, Cause]] = []

    def execute(self, plan: Plan, cause: Cause) -> tuple[ActionOutcome, ...]:
        version = _Version(plan.version_id)
        outcomes = tuple(self._execute_action(a, version, cause) for a in plan.actions)
        if not self._dry_run:
            alerted = {r for o in outcomes if o.outcome == "alerted" for r in o.action.rules}
            self._notifier.forget_cleared(plan.app, alerted)
        return outcomes

    def confirm(self, plan: Plan) -> tuple[ActionOutcome, ...]:
        """After a fresh read: writes whose reply was lost and whose drift is gone took effect
        (recorded applied, confirmed by the re-read); the others are planned again."""
        remaining = {(d.rule, d.field, d.resource) for d in plan.drifts}
        confirmed = tuple(
            self._finish(action, "applied", cause, confirmed="state re-read")
            for action, cause in self._unconfirmed
            if not any((d.rule, d.field, d.resource) in remaining for d in action.drifts)
        )
        self._unconfirmed.clear()
        return confirmed

    def give_up_unconfirmed(self) -> None:
        """The reconcile ends without a fresh read: what a lost reply did stays unknown."""
        for action, cause in self._unconfirmed:
            self._finish(action, "failed", cause, "outcome unknown: the reply was lost", True)
        self._unconfirmed.clear()

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
        trails: list[audit.WriteTrail] = []
        try:
            for call in action.calls:
                trails.append(audit.WriteTrail(action, call, cause))
                self._send(call, action.app, version, trails[-1])
        except errors.ReplanNeeded as exc:
            if any(t.maybe_applied for t in trails):
                self._unconfirmed.append((action, cause))
            raise exc
        except errors.RetryableAwsError as exc:
            if any(t.maybe_applied for t in trails):
                self._unconfirmed.append((action, cause))
                raise errors.WriteOutcomeUnknown(exc.operation, exc.code, str(exc)) from exc
            return self._finish(action, "failed", cause, str(exc), retryable=True)
        except errors.PermanentAwsError as exc:
            return self._finish(action, "failed", cause, str(exc))
        finally:
            for rule in action.rules:
                metrics.observe_remediation_duration(rule, time.monotonic() - started)
        request_ids = [i for t in trails for i in t.request_ids]
        return self._finish(action, "applied", cause, aws_request_ids=request_ids)

    def _send(self, call: Call, app: AppRef, version: _Version, trail: audit.WriteTrail) -> None:
        params: dict[str, Any] = dict(call.params)
        if call.versioned:
            if version.calls_made:
                # Our previous call put the app in UPDATING; the next one would be refused.
                version.current = self.wait_until_settled(app)
            params["CurrentApplicationVersionId"] = version.current
        response = self._aws.observed_call(trail, call.service, call.operation, **params)
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
        **extra: Any,
    ) -> ActionOutcome:
        # In a global dry-run an enforcing action is recorded as dry-run, in metrics and audit;
        # the returned outcome keeps the configured mode (what `plan` shows `apply` would do).
        mode: Mode = "dry-run" if self._dry_run and action.mode == "enforce" else action.mode
        audit.record(replace(action, mode=mode), outcome, cause, error, **extra)
        for rule in action.rules:
            metrics.count_remediation(rule, outcome, mode)
        return ActionOutcome(action, outcome, error, retryable)


def _new_version(response: Mapping[str, Any], previous: int) -> int:
    if "ApplicationVersionId" in response:
        return int(response["ApplicationVersionId"])
    detail = response.get("ApplicationDetail")
    if isinstance(detail, Mapping) and "ApplicationVersionId" in detail:
        return int(detail["ApplicationVersionId"])
    return previous + 1
