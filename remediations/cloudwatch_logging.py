"""cloudwatch_logging: the app logs to the configured CloudWatch stream at the configured levels.

Auditors require that application logging stays on. The rule checks that a logging option
points at the configured stream (which must exist) and that monitoring is CUSTOM with the
configured log and metrics levels. The fix creates the group and stream when missing, then adds
or repoints the option and sets the levels in as few application calls as the API allows: one
AddApplicationCloudWatchLoggingOption when there is no option, and one UpdateApplication that
both repoints an existing option and sets the monitoring levels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from daemon import errors
from daemon.state import AppRef, Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.app_config import is_flink, section
from remediations.base import ANY_APPLICATION, Reader, Rule, RuleSettings
from remediations.grants import (
    CARRIES_TAG,
    CREATED_TAGGED,
    MANAGED_LOG_GROUP_TAG,
    RETENTION,
    TAG_AT_CREATION,
    Scope,
    Statement,
    allow,
    application_writes,
    log_groups,
)

RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
DEFAULT_STREAM_ARN = (
    "arn:aws:logs:{region}:{account}:log-group:/aws/kinesis-analytics/{application}"
    ":log-stream:kinesis-analytics-log-stream"
)
MONITORING = (
    "ApplicationConfigurationDescription",
    "FlinkApplicationConfigurationDescription",
    "MonitoringConfigurationDescription",
)


def valid_retention(value: int) -> int:
    if value not in RETENTION_DAYS:
        raise ValueError(f"must be one of {', '.join(map(str, RETENTION_DAYS))}")
    return value


class LogStreamSettings(RuleSettings):
    """The application's log stream (and so its log group), shared with log_protection."""

    log_stream_arn: str = Field(
        DEFAULT_STREAM_ARN,
        description="ARN template of the log stream; {account}, {region}, {application} expand.",
    )

    @field_validator("log_stream_arn")
    @classmethod
    def _valid_template(cls, value: str) -> str:
        try:
            expanded = value.format(account="123456789012", region="us-east-1", application="app")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"bad placeholder {exc}; use {{account}}, {{region}}, {{application}}"
            ) from exc
        split_stream_arn(expanded)
        return value

    def stream_arn(self, app: AppRef) -> str:
        return self.log_stream_arn.format(
            account=app.account, region=app.region, application=app.name
        )


class Settings(LogStreamSettings):
    retention_days: int = Field(365, description="Retention for a log group the fix creates.")
    log_level: Literal["INFO", "WARN", "ERROR", "DEBUG"] = "INFO"
    metrics_level: Literal["APPLICATION", "TASK", "OPERATOR", "PARALLELISM"] = "APPLICATION"

    @field_validator("retention_days")
    @classmethod
    def _valid_retention(cls, value: int) -> int:
        return valid_retention(value)


def split_stream_arn(arn: str) -> tuple[str, str]:
    """`arn:aws:logs:R:A:log-group:G:log-stream:S` -> (G, S)."""
    head, sep, stream = arn.partition(":log-stream:")
    prefix, _, group = head.partition(":log-group:")
    if not (sep and group and stream and prefix.startswith("arn:aws") and ":logs:" in prefix):
        raise ValueError(
            "must look like arn:aws:logs:REGION:ACCOUNT:log-group:GROUP:log-stream:STREAM"
        )
    return group, stream


@dataclass(frozen=True)
class LogDestination:
    """Whether the configured log group and stream exist (assumed so when not observed)."""

    group_exists: bool = True
    stream_exists: bool = True


class CloudwatchLogging(Rule[Settings, LogDestination]):
    summary = "Application logs go to the configured CloudWatch stream and levels."
    severity = "MEDIUM"
    read_actions = ("logs:DescribeLogGroups", "logs:DescribeLogStreams")
    write_actions = (
        "logs:CreateLogGroup",
        "logs:TagResource",  # IAM asks for it when CreateLogGroup carries tags (no call of its own)
        "logs:PutRetentionPolicy",
        "logs:CreateLogStream",
        "kinesisanalytics:AddApplicationCloudWatchLoggingOption",
        "kinesisanalytics:UpdateApplication",
    )
    trigger_events = frozenset(
        {
            "CreateApplication",
            "UpdateApplication",
            "AddApplicationCloudWatchLoggingOption",
            "DeleteApplicationCloudWatchLoggingOption",
        }
    )
    # Every runtime logs; only Flink runtimes have the monitoring levels (checked below).
    applies_to = ANY_APPLICATION

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.logging(detail)

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        writes = self.write_actions
        groups = log_groups(scope, (str(s.log_stream_arn) for s in places))
        tagged = (RETENTION, *TAG_AT_CREATION)
        others = [a for a in writes if a.startswith("logs:") and a not in tagged]
        return [
            *application_writes(writes, scope),
            allow(f"{sid}Logs", others, groups),
            allow(f"{sid}Create", TAG_AT_CREATION, groups, **CREATED_TAGGED),
            allow(f"{sid}Retention", [RETENTION], groups, **CARRIES_TAG),
        ]

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> LogDestination:
        group, stream = split_stream_arn(settings.stream_arn(app))
        groups = read("logs", "DescribeLogGroups", logGroupNamePrefix=group)["logGroups"]
        group_exists = any(g["logGroupName"] == group for g in groups)
        stream_exists = False
        if group_exists:
            try:
                streams = read(
                    "logs", "DescribeLogStreams", logGroupName=group, logStreamNamePrefix=stream
                )["logStreams"]
            except errors.ResourceNotFound:
                streams = []
            stream_exists = any(s["logStreamName"] == stream for s in streams)
        return LogDestination(group_exists, stream_exists)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        app = observed.app
        arn = settings.stream_arn(app)
        group, stream = split_stream_arn(arn)
        group_arn = arn.partition(":log-stream:")[0]
        facts = self.facts(observed) or LogDestination()
        drifts: list[Drift] = []

        def drift(field: str, current: Any, desired: Any, message: str, resource: str) -> None:
            drifts.append(self.drift(observed, field, current, desired, message, resource=resource))

        if not facts.group_exists:
            drift("LogGroup", None, group, f"log group {group} does not exist", group_arn)
        if not facts.stream_exists:
            drift("LogStream", None, stream, f"log stream {stream} does not exist", arn)
        current = [o["LogStreamARN"] for o in _logging_options(observed.detail)]
        if arn not in current:
            message = "no CloudWatch logging option" if not current else "logs go elsewhere"
            drift("CloudWatchLoggingOptions", current, [arn], message, app.arn)
        if is_flink(observed.detail):
            monitoring = section(observed.detail, MONITORING)
            wanted = {
                "ConfigurationType": "CUSTOM",
                "LogLevel": settings.log_level,
                "MetricsLevel": settings.metrics_level,
            }
            for key, value in wanted.items():
                if monitoring.get(key) != value:
                    drift(
                        f"MonitoringConfiguration.{key}",
                        monitoring.get(key),
                        value,
                        f"monitoring {key} is {monitoring.get(key)}",
                        app.arn,
                    )
        return tuple(drifts)

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        app = observed.app
        arn = settings.stream_arn(app)
        group, stream = split_stream_arn(arn)
        fields = {d.field for d in drifts}
        calls: list[Call] = []
        if "LogGroup" in fields:
            # Tagged at creation: the daemon may set retention only on groups carrying the tag.
            create = {"logGroupName": group, "tags": dict([MANAGED_LOG_GROUP_TAG])}
            calls.append(Call("logs", "CreateLogGroup", create, group))
            calls.append(
                Call(
                    "logs",
                    "PutRetentionPolicy",
                    {"logGroupName": group, "retentionInDays": settings.retention_days},
                    group,
                )
            )
        if "LogStream" in fields:
            calls.append(
                Call(
                    "logs", "CreateLogStream", {"logGroupName": group, "logStreamName": stream}, arn
                )
            )
        update: dict[str, Any] = {}
        options = _logging_options(observed.detail)
        if "CloudWatchLoggingOptions" in fields:
            if options:
                update["CloudWatchLoggingOptionUpdates"] = [
                    {
                        "CloudWatchLoggingOptionId": options[0]["CloudWatchLoggingOptionId"],
                        "LogStreamARNUpdate": arn,
                    }
                ]
            else:
                calls.append(
                    Call(
                        "kinesisanalyticsv2",
                        "AddApplicationCloudWatchLoggingOption",
                        {
                            "ApplicationName": app.name,
                            "CloudWatchLoggingOption": {"LogStreamARN": arn},
                        },
                        app.arn,
                        versioned=True,
                    )
                )
        if any(f.startswith("MonitoringConfiguration.") for f in fields):
            update["ApplicationConfigurationUpdate"] = {
                "FlinkApplicationConfigurationUpdate": {
                    "MonitoringConfigurationUpdate": {
                        "ConfigurationTypeUpdate": "CUSTOM",
                        "LogLevelUpdate": settings.log_level,
                        "MetricsLevelUpdate": settings.metrics_level,
                    }
                }
            }
        if update:
            calls.append(
                Call(
                    "kinesisanalyticsv2",
                    "UpdateApplication",
                    {"ApplicationName": app.name, **update},
                    app.arn,
                    versioned=True,
                )
            )
        return tuple(calls)


def _logging_options(detail: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(detail.get("CloudWatchLoggingOptionDescriptions") or [])
