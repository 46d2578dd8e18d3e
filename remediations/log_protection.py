"""log_protection: the application's log group is encrypted with the configured KMS key and
keeps logs for the configured retention.

cloudwatch_logging keeps the app logging to its group; this rule keeps that group protected
(AWS Config checks log-group encryption only account-wide). The fix is AssociateKmsKey and
PutRetentionPolicy on the group. CloudWatch Logs refuses a key whose policy does not let
`logs.<region>.amazonaws.com` use it for this group (the condition
`kms:EncryptionContext:aws:logs:arn`), so the key policy is read first (GetKeyPolicy) and such a
key is alerted with the reason instead of a call that would fail:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
A log group that does not exist yet is cloudwatch_logging's finding, not this rule's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field, field_validator

from daemon import errors
from daemon.state import AppRef, Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.base import ANY_APPLICATION, Reader, Rule
from remediations.cloudwatch_logging import LogStreamSettings, split_stream_arn, valid_retention
from remediations.grants import CARRIES_TAG, RETENTION, Scope, Statement, allow, log_groups

CONTEXT_KEY = "kms:encryptioncontext:aws:logs:arn"
LOGS_KEY_ACTIONS = ("kms:encrypt", "kms:generatedatakey")


class Settings(LogStreamSettings):
    kms_key_arn: str | None = Field(
        None, description="ARN of the KMS key the log group must use; none: not checked."
    )
    retention_days: int | None = Field(365, description="Retention the group must have.")

    @field_validator("kms_key_arn")
    @classmethod
    def _key_arn(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("arn:aws") and ":key/" in value):
            raise ValueError("give the key's ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)")
        return value

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int | None) -> int | None:
        return None if value is None else valid_retention(value)

    def group(self, app: AppRef) -> tuple[str, str]:
        """(group name, group ARN) of the application's log group."""
        arn = self.stream_arn(app)
        return split_stream_arn(arn)[0], arn.partition(":log-stream:")[0]


@dataclass(frozen=True)
class LogGroupState:
    exists: bool = True
    kms_key_id: str | None = None
    retention_days: int | None = None
    key_problem: str = ""  # why the configured key cannot be associated ("" when it can)


def key_problem(state: str, policy: str, region: str, group_arn: str) -> str:
    """Why CloudWatch Logs would refuse the key for `group_arn` ("" if it would not)."""
    if state != "Enabled":
        return f"the key is {state}"
    service = f"logs.{region}.amazonaws.com"
    for statement in _as_list(json.loads(policy).get("Statement", [])):
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        granted = [str(a).lower() for a in _as_list(statement.get("Action", []))]
        if (
            statement.get("Effect") == "Allow"
            and service in services
            and all(any(fnmatchcase(a, g) for g in granted) for a in LOGS_KEY_ACTIONS)
            and _context_admits(statement.get("Condition") or {}, group_arn)
        ):
            return ""
    return f"the key policy does not allow {service} to use the key for {group_arn}"


def _context_admits(condition: Mapping[str, Any], group_arn: str) -> bool:
    for operator, pairs in condition.items():
        for key, values in pairs.items():
            patterns = [str(v) for v in _as_list(values)]
            like = operator in ("ArnLike", "StringLike")
            if key.lower() != CONTEXT_KEY or operator not in (
                "ArnLike",
                "StringLike",
                "ArnEquals",
                "StringEquals",
            ):
                return False  # a condition CloudWatch Logs' request would not meet
            if not any(fnmatchcase(group_arn, p) if like else group_arn == p for p in patterns):
                return False
    return True


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class LogProtection(Rule[Settings, LogGroupState]):
    summary = "The application's log group uses the configured KMS key and retention."
    severity = "MEDIUM"
    read_actions = ("logs:DescribeLogGroups", "kms:DescribeKey", "kms:GetKeyPolicy")
    write_actions = ("logs:AssociateKmsKey", "logs:PutRetentionPolicy")
    trigger_events = frozenset(
        {"CreateApplication", "UpdateApplication", "AddApplicationCloudWatchLoggingOption"}
    )
    applies_to = ANY_APPLICATION

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.logging(detail)  # the group of that stream is what it checked

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        # Only on the applications' log groups (the configured prefix) that carry the managed tag
        # (created by the daemon, or tagged by their owner); the key is the service's to use (its
        # key policy), the daemon needs no KMS permission to associate it.
        groups = log_groups(scope, (str(s.log_stream_arn) for s in places))
        out = [allow(sid, [RETENTION], groups, **CARRIES_TAG)]
        if any(s.kms_key_arn for s in places):
            out.append(allow(f"{sid}Key", ["logs:AssociateKmsKey"], groups))
        return out

    def reads(self, settings: Settings) -> tuple[str, ...]:
        # The key is read only to check a configured one before associating it.
        return self.read_actions if settings.kms_key_arn else ("logs:DescribeLogGroups",)

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> LogGroupState:
        name, group_arn = settings.group(app)
        groups = read("logs", "DescribeLogGroups", logGroupNamePrefix=name)["logGroups"]
        group = next((g for g in groups if g["logGroupName"] == name), None)
        if group is None:
            return LogGroupState(exists=False)
        current = group.get("kmsKeyId")
        problem = ""
        if settings.kms_key_arn and current != settings.kms_key_arn:
            try:
                meta = read("kms", "DescribeKey", KeyId=settings.kms_key_arn)["KeyMetadata"]
                policy = read(
                    "kms", "GetKeyPolicy", KeyId=settings.kms_key_arn, PolicyName="default"
                )["Policy"]
                problem = key_problem(str(meta["KeyState"]), str(policy), app.region, group_arn)
            except errors.ResourceNotFound:
                problem = "the key does not exist"
        return LogGroupState(True, current, group.get("retentionInDays"), problem)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        facts = self.facts(observed)
        if facts is None or not facts.exists:
            return ()
        name, group_arn = settings.group(observed.app)
        drifts: list[Drift] = []
        key = settings.kms_key_arn
        if key and facts.kms_key_id != key:
            message = f"log group {name} is not encrypted with {key}"
            if facts.key_problem:
                message += f"; cannot associate it: {facts.key_problem}"
            drifts.append(
                self.drift(
                    observed,
                    "LogGroup.kmsKeyId",
                    facts.kms_key_id,
                    key,
                    message,
                    fixable=not facts.key_problem,
                    resource=group_arn,
                )
            )
        wanted = settings.retention_days
        if wanted is not None and facts.retention_days != wanted:
            kept = f"{facts.retention_days} days" if facts.retention_days else "forever"
            drifts.append(
                self.drift(
                    observed,
                    "LogGroup.retentionInDays",
                    facts.retention_days,
                    wanted,
                    f"log group {name} keeps logs {kept}, not {wanted} days",
                    resource=group_arn,
                )
            )
        return tuple(drifts)

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        name, group_arn = settings.group(observed.app)
        calls: list[Call] = []
        for drift in drifts:
            if drift.field == "LogGroup.kmsKeyId" and drift.fixable:
                key = {"logGroupName": name, "kmsKeyId": settings.kms_key_arn}
                calls.append(Call("logs", "AssociateKmsKey", key, group_arn))
            if drift.field == "LogGroup.retentionInDays":
                days = {"logGroupName": name, "retentionInDays": settings.retention_days}
                calls.append(Call("logs", "PutRetentionPolicy", days, group_arn))
        return tuple(calls)
