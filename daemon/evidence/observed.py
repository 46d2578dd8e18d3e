"""The evidence a compliant row shows: the part of DescribeApplication a control is about (the
tags read, for `required_tags`), and why a control does not concern an application at all.

Only the simple cases: a rule whose facts live elsewhere (role documents, route tables) shows
the resource it checked. Keyed by rule id; a rule missing here shows no detail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from daemon.state import AppRef
from remediations.app_config import property_groups
from remediations.dependent_encryption import Settings as DependentSettings
from remediations.dependent_resources import name_of, named_resources

Detail = Mapping[str, Any]


def _config(detail: Detail) -> Detail:
    return detail.get("ApplicationConfigurationDescription") or {}


def _flink(detail: Detail) -> Detail:
    return _config(detail).get("FlinkApplicationConfigurationDescription") or {}


def _logging(detail: Detail) -> str:
    streams = [
        o.get("LogStreamARN", "") for o in detail.get("CloudWatchLoggingOptionDescriptions") or ()
    ]
    monitoring = _flink(detail).get("MonitoringConfigurationDescription") or {}
    level = monitoring.get("LogLevel", "")
    return f"log stream {', '.join(streams) or 'none'}; log level {level or 'default'}"


def _encryption(detail: Detail) -> str:
    enc = _config(detail).get("ApplicationEncryptionConfigurationDescription") or {}
    key = enc.get("KeyId") or ""
    return f"key type {enc.get('KeyType', 'AWS_OWNED_KEY')}" + (f", key id {key}" if key else "")


def _snapshots(detail: Detail) -> str:
    snap = _config(detail).get("ApplicationSnapshotConfigurationDescription") or {}
    return f"snapshots enabled: {snap.get('SnapshotsEnabled')}"


def _checkpoints(detail: Detail) -> str:
    return _compact(_flink(detail).get("CheckpointConfigurationDescription") or {})


def _rollback(detail: Detail) -> str:
    conf = _config(detail).get("ApplicationSystemRollbackConfigurationDescription") or {}
    return f"rollback enabled: {conf.get('RollbackEnabled')}"


def _vpc(detail: Detail) -> str:
    vpcs = _config(detail).get("VpcConfigurationDescriptions") or ()
    subnets = sorted({s for v in vpcs for s in v.get("SubnetIds", ())})
    return f"subnets {', '.join(subnets)}" if subnets else "no VPC configuration"


def _role(detail: Detail) -> str:
    return f"execution role {detail.get('ServiceExecutionRole', '')}"


def _code(detail: Detail) -> str:
    code = _config(detail).get("ApplicationCodeConfigurationDescription") or {}
    location = (code.get("CodeContentDescription") or {}).get(
        "S3ApplicationCodeLocationDescription"
    )
    return _compact(location or {})


def _property_keys(detail: Detail) -> str:
    """Group ids and key counts only: a property value may be a secret."""
    env = _config(detail).get("EnvironmentPropertyDescriptions") or {}
    groups = env.get("PropertyGroupDescriptions") or ()
    counts = [
        f"{g.get('PropertyGroupId', '')} ({len(g.get('PropertyMap') or {})} keys)" for g in groups
    ]
    return f"property groups {', '.join(counts)}" if counts else "no runtime properties"


def _dependents(detail: Detail) -> str:
    """The resources named by ARN or under the default property keys (dependent_resources)."""
    app = AppRef("", "", "")
    groups = property_groups(detail)
    named = named_resources(app, groups, DependentSettings().keys())
    if not named:
        return "not applicable: names no Kinesis stream, Firehose delivery stream or MSK cluster"
    return "encrypted: " + ", ".join(f"{n.kind} {n.name or name_of(n.arn)}" for n in named)


def _parallelism(detail: Detail) -> str:
    return _compact(_flink(detail).get("ParallelismConfigurationDescription") or {})


def _compact(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True) if value else ""


EXTRACTORS: Mapping[str, Callable[[Detail], str]] = {
    "cloudwatch_logging": _logging,
    "log_protection": _logging,  # the group of that stream is what it checked
    "encryption": _encryption,
    "snapshots": _snapshots,
    "recovery_point": _snapshots,  # the snapshot ages are in the finding, not the detail
    "checkpointing": _checkpoints,
    "system_rollback": _rollback,
    "vpc_required": _vpc,
    "vpc_public_route": _vpc,
    "execution_role_trust": _role,
    "execution_role_permissions": _role,
    "runtime_version": lambda d: f"runtime {d.get('RuntimeEnvironment', '')}",
    "code_location": _code,
    "code_integrity": _code,  # bucket, key and the pinned ObjectVersion
    "parallelism_cap": _parallelism,
    "secrets_in_properties": _property_keys,
    "dependent_encryption": _dependents,
}


def evidence_from_detail(rule: str, detail: Detail, tags: Mapping[str, str] | None = None) -> str:
    if rule == "required_tags":
        shown = "; ".join(f"{k}={v}" for k, v in sorted((tags or {}).items()))
        return f"tags {shown}" if shown else "no tags"
    extract = EXTRACTORS.get(rule)
    return extract(detail) if extract and detail else ""


def not_applicable(rule: str, detail: Detail) -> str:
    """Why control `rule` does not concern this application ("" when it does)."""
    from remediations import RULES

    if not detail:
        return ""
    checked = RULES.get(rule)
    if checked is not None and not checked.applies(detail):
        kind = detail.get("RuntimeEnvironment") or "this application"
        return f"the rule does not cover {kind} applications"
    if rule == "vpc_public_route" and not _config(detail).get("VpcConfigurationDescriptions"):
        return "no VPC configuration: the application has no subnets that could route"
    return ""
