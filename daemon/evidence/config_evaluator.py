"""Evaluate one project rule for AWS Config: read the world, answer, PutEvaluations.

Per application: DescribeApplication and its tags decide whether the rule concerns it at all
(NOT_APPLICABLE: the app is opted out or ignored, the rule is disabled for it, the rule does not
cover its kind, e.g. a Studio notebook for the VPC rules); then the daemon's fresh Security Hub
finding answers, and without one the same dry-run reconcile `report` runs (observe + `check`).
Only Config is written (PutEvaluations): never an application.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import structlog

from daemon import errors
from daemon.aws import Aws
from daemon.desired.config import DesiredConfig
from daemon.desired.resolve import resolve
from daemon.desired.waivers import waived_rules
from daemon.evidence.config_rule import (
    ANNOTATION_MAX,
    EVALUATIONS_PER_CALL,
    Evaluation,
    Invocation,
    cut,
    fresh,
    from_check,
    from_finding,
)
from daemon.evidence.history import read_findings
from daemon.evidence.observed import not_applicable
from daemon.reconcile.inventory import AppFacts, Inventory, list_applications
from daemon.reconcile.listeners import verdicts_to
from daemon.reconcile.pass_reads import PassReads
from daemon.reconcile.reconciler import Reads, Reconciler
from daemon.reconcile.rules import rules_for
from daemon.reconcile.verdicts import Verdict
from daemon.state import AppRef, Cause

log = structlog.get_logger()
DEFAULT_MAX_AGE_SECONDS = 3600.0


class ConfigEvaluator:
    def __init__(
        self,
        aws: Aws,
        config: DesiredConfig,
        account: str,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._aws, self._config, self._account = aws, config, account
        self._max_age, self._clock = max_age_seconds, clock

    def evaluate(self, invocation: Invocation) -> list[Evaluation]:
        from remediations import RULES

        if invocation.rule not in RULES:
            raise ValueError(f"unknown rule {invocation.rule!r}")
        listed = list_applications(self._aws, self._account)
        wanted = {a.name for a in listed} if invocation.apps is None else set(invocation.apps)
        out = [
            Evaluation(n, "NOT_APPLICABLE", "the application was deleted", "applicability")
            for n in invocation.deleted
        ]
        details = {a: self._describe(a) for a in listed}
        findings = self._findings()
        for app in sorted(a for a in listed if a.name in wanted):
            detail = details[app]
            if detail is None:
                out.append(
                    Evaluation(
                        app.name, "NOT_APPLICABLE", "the application was deleted", "applicability"
                    )
                )
                continue
            tags = self._tags(app)
            evaluation = self._evaluate(app, invocation.rule, detail, details, findings, tags)
            out.append(self._noting_waiver(app, invocation.rule, tags, evaluation))
        return out

    def _noting_waiver(
        self, app: AppRef, rule: str, tags: Mapping[str, str], evaluation: Evaluation
    ) -> Evaluation:
        """A waived violation stays NON_COMPLIANT (an accepted deviation is not compliance, as
        AWS Config's remediation exceptions apply only to NON_COMPLIANT resources), its
        annotation naming the waiver first (never cut)."""
        waived = waived_rules(self._config.waivers, app, tags, (rule,), self._clock())
        waiver = waived.get(rule)
        if waiver is None or evaluation.compliance != "NON_COMPLIANT":
            return evaluation
        note = f"{waiver.text}: waiver {waiver.id}; {evaluation.annotation}"
        return replace(evaluation, annotation=cut(note, ANNOTATION_MAX))

    def _evaluate(
        self,
        app: AppRef,
        rule: str,
        detail: Mapping[str, Any],
        details: Mapping[AppRef, Mapping[str, Any] | None],
        findings: Mapping[tuple[str, str], Mapping[str, Any]],
        tags: Mapping[str, str],
    ) -> Evaluation:
        resolution = resolve(self._config, app, tags)
        if resolution.ignored:
            return Evaluation(
                app.name, "NOT_APPLICABLE", f"not evaluated: {resolution.ignored}", "applicability"
            )
        if rule not in resolution.rules:
            return Evaluation(
                app.name, "NOT_APPLICABLE", "rule disabled for this application", "applicability"
            )
        why_not = not_applicable(rule, detail)
        if why_not:
            return Evaluation(app.name, "NOT_APPLICABLE", why_not, "applicability")
        finding = findings.get((app.arn, rule))
        changed = detail.get("LastUpdateTimestamp") or detail.get("CreateTimestamp")
        if fresh(
            finding,
            self._clock(),
            self._max_age,
            changed if isinstance(changed, datetime) else None,
        ):
            assert finding is not None
            return from_finding(app.name, rule, finding)
        verdict = self._check(app, rule, details)
        if verdict is None:  # busy or unreadable: no verdict this round, say so
            return Evaluation(
                app.name,
                "NOT_APPLICABLE",
                "not evaluated: the application could not be checked",
                "check",
            )
        messages = "; ".join(d.message for d in verdict.drifts) or "drift found"
        return from_check(app.name, rule, verdict.violated, messages, verdict.cause.actor)

    def _check(
        self, app: AppRef, rule: str, details: Mapping[AppRef, Mapping[str, Any] | None]
    ) -> Verdict | None:
        """The dry-run reconcile of `report`, for this one application."""
        inventory, reads, found = Inventory(), PassReads(), list[Verdict]()
        for other, detail in details.items():
            if detail is not None:
                inventory.update(other, AppFacts.from_detail(detail))
        inventory.mark_indexed(self._account)
        if details.get(app) is not None:
            reads.remember_detail(app, details[app] or {})
        reconciler = Reconciler(
            lambda _app: self._aws,
            rules_for(lambda: self._config),
            dry_run=True,
            reads=Reads(role_index=inventory.role_index(lambda: True)),
            listeners=verdicts_to(_Sink(found)),
        )
        reconciler.reconcile(app, Cause("cli", reads=reads))
        return next((v for v in found if v.rule == rule), None)

    def put(self, evaluations: Sequence[Evaluation], token: str, ordering: datetime | None) -> None:
        """PutEvaluations, at most 100 per call; FailedEvaluations are logged."""
        when = ordering or self._clock()
        for start in range(0, len(evaluations), EVALUATIONS_PER_CALL):
            chunk = [e.as_api(when) for e in evaluations[start : start + EVALUATIONS_PER_CALL]]
            answer = self._aws.call(
                "config", "PutEvaluations", Evaluations=chunk, ResultToken=token
            )
            for failed in answer.get("FailedEvaluations") or ():
                log.error("config_evaluation_rejected", resource=failed.get("ComplianceResourceId"))

    def _describe(self, app: AppRef) -> Mapping[str, Any] | None:
        try:
            answer = self._aws.call(
                "kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name
            )
        except errors.ResourceNotFound:
            return None
        return dict(answer["ApplicationDetail"])

    def _tags(self, app: AppRef) -> dict[str, str]:
        answer = self._aws.call("kinesisanalyticsv2", "ListTagsForResource", ResourceARN=app.arn)
        return {t["Key"]: t.get("Value", "") for t in answer.get("Tags") or ()}

    def _findings(self) -> Mapping[tuple[str, str], Mapping[str, Any]]:
        hub = self._config.security_hub
        if not hub.enabled:
            return {}
        region = hub.region or self._aws.region
        aws = self._aws if region == self._aws.region else Aws(region)
        return read_findings(aws, self._account)


class _Sink:
    def __init__(self, found: list[Verdict]) -> None:
        self._found = found

    def record(self, verdict: Verdict) -> None:
        self._found.append(verdict)
