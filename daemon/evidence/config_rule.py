"""AWS Config custom rules fed by the daemon: pure parts (no I/O).

One Config rule per project rule (`flink-remediator-<rule>`, InputParameters `{"rule": ...}`),
scoped to AWS::KinesisAnalyticsV2::Application: Audit Manager maps a control's AWS Config data
source to one rule name (`Custom_<name>` for custom rules), so one rule per control keeps each
control's evidence to its own check (docs/evidence.md).

An evaluation answers from the daemon's Security Hub finding for (application, rule) when it is
fresh (updated within `max_age` and not before the application's last update), else from the
same dry-run reconcile `report` runs (the rules' own `check`): one source of truth.
https://docs.aws.amazon.com/config/latest/APIReference/API_Evaluation.html (Annotation: 1-256
characters; ComplianceType COMPLIANT | NON_COMPLIANT | NOT_APPLICABLE from PutEvaluations).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from daemon.evidence.asff import FIELD_PREFIX

RESOURCE_TYPE = "AWS::KinesisAnalyticsV2::Application"
RULE_PREFIX = "flink-remediator-"
ANNOTATION_MAX = 256
EVALUATIONS_PER_CALL = 100  # PutEvaluations: Evaluations, at most 100 items
Compliance = Literal["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"]


def config_rule_name(rule: str) -> str:
    return RULE_PREFIX + rule


def audit_manager_keyword(rule: str) -> str:
    """The keyword an Audit Manager AWS Config data source takes for our custom rule."""
    return "Custom_" + config_rule_name(rule)


@dataclass(frozen=True)
class Evaluation:
    resource_id: str  # the application's name: Config's resourceId for this type
    compliance: Compliance
    annotation: str
    source: str  # "finding" | "check" | "applicability": how it was decided

    def as_api(self, ordering: datetime) -> dict[str, Any]:
        return {
            "ComplianceResourceType": RESOURCE_TYPE,
            "ComplianceResourceId": self.resource_id,
            "ComplianceType": self.compliance,
            "Annotation": cut(self.annotation or self.compliance, ANNOTATION_MAX),
            "OrderingTimestamp": ordering,
        }


@dataclass(frozen=True)
class Invocation:
    """What one Config rule invocation asks (the Lambda event's fields)."""

    rule: str  # the project rule, from ruleParameters
    result_token: str
    account: str
    apps: tuple[str, ...] | None  # application names; None: every application (periodic)
    deleted: tuple[str, ...]  # applications whose configuration item says they are gone
    ordering: datetime | None  # the configuration item's capture time (None: now)


def parse_invocation(event: Mapping[str, Any]) -> Invocation:
    """The Lambda event Config sends a custom rule (ValueError on anything else).
    https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config_develop-rules_example-events.html
    """
    invoking = json.loads(str(event.get("invokingEvent") or "{}"))
    params = json.loads(str(event.get("ruleParameters") or "{}"))
    rule = str(params.get("rule", ""))
    token = str(event.get("resultToken", ""))
    if not rule or not token:
        raise ValueError("the event needs ruleParameters.rule and resultToken")
    kind = invoking.get("messageType", "")
    item = invoking.get("configurationItem") or invoking.get("configurationItemSummary") or {}
    if kind == "ScheduledNotification":
        return Invocation(rule, token, str(event.get("accountId", "")), None, (), None)
    if kind not in (
        "ConfigurationItemChangeNotification",
        "OversizedConfigurationItemChangeNotification",
    ):
        raise ValueError(f"unsupported messageType {kind!r}")
    name = str(item.get("resourceName") or item.get("resourceId") or "")
    gone = item.get("configurationItemStatus") in ("ResourceDeleted", "ResourceDeletedNotRecorded")
    captured = item.get("configurationItemCaptureTime")
    ordering = datetime.fromisoformat(str(captured).replace("Z", "+00:00")) if captured else None
    if item.get("resourceType") not in (None, RESOURCE_TYPE):
        return Invocation(rule, token, str(event.get("accountId", "")), (), (), ordering)
    apps = () if gone else (name,)
    return Invocation(
        rule, token, str(event.get("accountId", "")), apps, (name,) if gone else (), ordering
    )


def fresh(
    finding: Mapping[str, Any] | None,
    now: datetime,
    max_age_seconds: float,
    changed: datetime | None,
) -> bool:
    """The finding speaks for now: updated within max age and not before the app last changed."""
    if not finding:
        return False
    updated = _time(str(finding.get("UpdatedAt", "")))
    if updated is None or (now - updated).total_seconds() > max_age_seconds:
        return False
    return changed is None or updated >= changed


def from_finding(app: str, rule: str, finding: Mapping[str, Any]) -> Evaluation:
    fields: Mapping[str, str] = finding.get("ProductFields") or {}
    status = str((finding.get("Compliance") or {}).get("Status", ""))
    if status == "FAILED":
        changes = fields.get(FIELD_PREFIX + "Changes", "") or "drift found"
        actor = fields.get(FIELD_PREFIX + "DriftBy", "unknown")
        note = f"drifted by {actor} at {finding.get('FirstObservedAt', '?')}: {changes}"
        return Evaluation(app, "NON_COMPLIANT", _keep_actor(note, actor), "finding")
    how = fields.get(FIELD_PREFIX + "Resolution", "compliant")
    by = fields.get(FIELD_PREFIX + "ResolvedBy", "")
    by_whom = f" by {by}" if by else ""
    note = f"{rule} holds ({how}{by_whom}; daemon finding {finding.get('UpdatedAt', '')})"
    return Evaluation(app, "COMPLIANT", note, "finding")


def from_check(app: str, rule: str, violated: bool, messages: str, actor: str) -> Evaluation:
    if violated:
        who = actor or "unknown (no fresh daemon finding)"
        return Evaluation(
            app, "NON_COMPLIANT", _keep_actor(f"drifted by {who}: {messages}", who), "check"
        )
    return Evaluation(app, "COMPLIANT", f"{rule} holds (checked the live configuration)", "check")


def _keep_actor(note: str, actor: str) -> str:
    """Cut what is wrong, never who did it: the actor leads the annotation."""
    return (
        cut(note, ANNOTATION_MAX)
        if actor in cut(note, ANNOTATION_MAX)
        else cut(actor, ANNOTATION_MAX)
    )


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
