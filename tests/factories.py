"""Builders for DescribeApplication-shaped data used by pure (no I/O) tests."""

from __future__ import annotations

import json
from typing import Any

from daemon.state import AppRef, Observed

APP = AppRef("123456789012", "us-east-1", "orders")


def stream_arn(app: AppRef = APP, stream: str = "kinesis-analytics-log-stream") -> str:
    return (
        f"arn:aws:logs:{app.region}:{app.account}:log-group:/aws/kinesis-analytics/{app.name}"
        f":log-stream:{stream}"
    )


def flink_detail(
    app: AppRef = APP,
    *,
    log_streams: tuple[str, ...] = (),
    monitoring: dict[str, Any] | None = None,
    status: str = "RUNNING",
    version: int = 3,
    runtime: str = "FLINK-1_20",
    rollback_enabled: bool | None = None,
) -> dict[str, Any]:
    """`rollback_enabled`: add ApplicationSystemRollbackConfigurationDescription (None: absent)."""
    detail: dict[str, Any] = {
        "ApplicationARN": app.arn,
        "ApplicationName": app.name,
        "RuntimeEnvironment": runtime,
        "ServiceExecutionRole": f"arn:aws:iam::{app.account}:role/{app.name}-role",
        "ApplicationStatus": status,
        "ApplicationVersionId": version,
        "ConditionalToken": f"token-{version}",
        "CloudWatchLoggingOptionDescriptions": [
            {"CloudWatchLoggingOptionId": f"{i + 1}.1", "LogStreamARN": arn}
            for i, arn in enumerate(log_streams)
        ],
        "ApplicationConfigurationDescription": {
            "FlinkApplicationConfigurationDescription": {
                "MonitoringConfigurationDescription": monitoring
                or {
                    "ConfigurationType": "DEFAULT",
                    "MetricsLevel": "APPLICATION",
                    "LogLevel": "INFO",
                }
            }
        },
    }
    if rollback_enabled is not None:
        detail["ApplicationConfigurationDescription"][
            "ApplicationSystemRollbackConfigurationDescription"
        ] = {"RollbackEnabled": rollback_enabled}
    return detail


def observed(
    detail: dict[str, Any], facts: dict[str, Any] | None = None, app: AppRef = APP
) -> Observed:
    return Observed(app=app, detail=detail, tags={}, facts=facts or {})


def update_event(account: str, actor: str, event_id: str, app: str = "a") -> str:
    """An EventBridge envelope of a CloudTrail UpdateApplication of `app` by `actor`."""
    detail = {
        "eventSource": "kinesisanalytics.amazonaws.com",
        "eventName": "UpdateApplication",
        "eventID": event_id,
        "awsRegion": "us-east-1",
        "recipientAccountId": account,
        "userIdentity": {"type": "IAMUser" if ":user/" in actor else "AssumedRole", "arn": actor},
        "requestParameters": {"applicationName": app},
        "readOnly": False,
    }
    envelope = {
        "version": "0",
        "id": "x",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.kinesisanalytics",
        "account": account,
        "region": "us-east-1",
        "time": "2026-01-01T00:00:00Z",
        "detail": detail,
    }
    return json.dumps(envelope)
