"""What a compliant row of the report shows, for the rules whose evidence is a part of
DescribeApplication: each rule's `evidence` picks one of these. Pure; `detail` is the
application's ApplicationDetail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

Detail = Mapping[str, Any]


def configuration(detail: Detail) -> Detail:
    return detail.get("ApplicationConfigurationDescription") or {}


def flink(detail: Detail) -> Detail:
    return configuration(detail).get("FlinkApplicationConfigurationDescription") or {}


def logging(detail: Detail) -> str:
    streams = [
        o.get("LogStreamARN", "") for o in detail.get("CloudWatchLoggingOptionDescriptions") or ()
    ]
    monitoring = flink(detail).get("MonitoringConfigurationDescription") or {}
    level = monitoring.get("LogLevel", "")
    return f"log stream {', '.join(streams) or 'none'}; log level {level or 'default'}"


def snapshots(detail: Detail) -> str:
    snap = configuration(detail).get("ApplicationSnapshotConfigurationDescription") or {}
    return f"snapshots enabled: {snap.get('SnapshotsEnabled')}"


def subnets(detail: Detail) -> str:
    vpcs = configuration(detail).get("VpcConfigurationDescriptions") or ()
    ids = sorted({s for v in vpcs for s in v.get("SubnetIds", ())})
    return f"subnets {', '.join(ids)}" if ids else "no VPC configuration"


def execution_role(detail: Detail) -> str:
    return f"execution role {detail.get('ServiceExecutionRole', '')}"


def code(detail: Detail) -> str:
    content = configuration(detail).get("ApplicationCodeConfigurationDescription") or {}
    location = (content.get("CodeContentDescription") or {}).get(
        "S3ApplicationCodeLocationDescription"
    )
    return compact(location or {})


def compact(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True) if value else ""
