"""Pure translation of request configuration (Create/Update) into the description shapes.

Defaults follow the Managed Flink documentation: a DEFAULT configuration type forces the values
AWS uses (checkpointing on every 60 s with 5 s minimum pause; INFO logs at APPLICATION level;
parallelism 1 with autoscaling), and the fine-grained fields may only be set under CUSTOM.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sandbox.flink.errors import invalid

DEFAULT_CHECKPOINT = {
    "ConfigurationType": "DEFAULT",
    "CheckpointingEnabled": True,
    "CheckpointInterval": 60000,
    "MinPauseBetweenCheckpoints": 5000,
}
DEFAULT_MONITORING = {
    "ConfigurationType": "DEFAULT",
    "MetricsLevel": "APPLICATION",
    "LogLevel": "INFO",
}
DEFAULT_PARALLELISM = {
    "ConfigurationType": "DEFAULT",
    "Parallelism": 1,
    "ParallelismPerKPU": 1,
    "CurrentParallelism": 1,
    "AutoScalingEnabled": True,
}

# (description key, request key, update key, defaults, settable fields)
_SECTIONS: tuple[tuple[str, str, str, Mapping[str, Any], tuple[str, ...]], ...] = (
    (
        "CheckpointConfigurationDescription",
        "CheckpointConfiguration",
        "CheckpointConfigurationUpdate",
        DEFAULT_CHECKPOINT,
        ("CheckpointingEnabled", "CheckpointInterval", "MinPauseBetweenCheckpoints"),
    ),
    (
        "MonitoringConfigurationDescription",
        "MonitoringConfiguration",
        "MonitoringConfigurationUpdate",
        DEFAULT_MONITORING,
        ("MetricsLevel", "LogLevel"),
    ),
    (
        "ParallelismConfigurationDescription",
        "ParallelismConfiguration",
        "ParallelismConfigurationUpdate",
        DEFAULT_PARALLELISM,
        ("Parallelism", "ParallelismPerKPU", "AutoScalingEnabled"),
    ),
)


def _section(
    current: Mapping[str, Any],
    defaults: Mapping[str, Any],
    fields: tuple[str, ...],
    values: Mapping[str, Any],
    kind: str | None,
    label: str,
) -> dict[str, Any]:
    """Apply `values` (plain field names) under configuration type `kind` to `current`."""
    effective = kind or current["ConfigurationType"]
    if effective == "DEFAULT":
        given = [name for name in fields if name in values]
        if given:
            raise invalid(
                f"{label}: {', '.join(given)} can only be set when ConfigurationType is CUSTOM."
            )
        return dict(defaults)
    result = dict(current)
    result["ConfigurationType"] = "CUSTOM"
    result.update({name: values[name] for name in fields if name in values})
    if "Parallelism" in values:
        result["CurrentParallelism"] = values["Parallelism"]
    return result


def flink_description(request: Mapping[str, Any]) -> dict[str, Any]:
    """FlinkApplicationConfigurationDescription from a FlinkApplicationConfiguration."""
    result: dict[str, Any] = {}
    for description_key, request_key, _, defaults, fields in _SECTIONS:
        section = request.get(request_key, {})
        result[description_key] = _section(
            defaults, defaults, fields, section, section.get("ConfigurationType"), request_key
        )
    return result


def apply_flink_update(current: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(current)
    for description_key, _, update_key, defaults, fields in _SECTIONS:
        if update_key not in update:
            continue
        section = update[update_key]
        values = {name: section[name + "Update"] for name in fields if name + "Update" in section}
        result[description_key] = _section(
            current[description_key],
            defaults,
            fields,
            values,
            section.get("ConfigurationTypeUpdate"),
            update_key,
        )
    return result


def encryption_description(key_type: str, key_id: str | None) -> dict[str, Any]:
    if key_type == "CUSTOMER_MANAGED_KEY" and not key_id:
        raise invalid("A key id is required for a customer managed key.")
    if key_type == "AWS_OWNED_KEY" and key_id:
        raise invalid("A key id must not be given with an AWS owned key.")
    result: dict[str, Any] = {"KeyType": key_type}
    if key_id:
        result["KeyId"] = key_id
    return result


def snapshot_description(enabled: bool, mode: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"SnapshotsEnabled": enabled}
    if mode:
        result["SnapshotMode"] = mode
    return result


def code_description(request: Mapping[str, Any]) -> dict[str, Any]:
    """ApplicationCodeConfigurationDescription from an ApplicationCodeConfiguration."""
    content = request.get("CodeContent", {})
    description: dict[str, Any] = {}
    if "TextContent" in content:
        text = content["TextContent"]
        description.update(
            TextContent=text,
            CodeSize=len(text.encode()),
            # The model fixes CodeMD5 at 128 characters: a SHA-512 hex digest fits it.
            CodeMD5=hashlib.sha512(text.encode()).hexdigest(),
        )
    if "S3ContentLocation" in content:
        description["S3ApplicationCodeLocationDescription"] = dict(content["S3ContentLocation"])
    return {"CodeContentType": request["CodeContentType"], "CodeContentDescription": description}


def apply_code_update(
    current: Mapping[str, Any] | None, update: Mapping[str, Any]
) -> dict[str, Any]:
    result: dict[str, Any] = dict(
        current or {"CodeContentType": "ZIPFILE", "CodeContentDescription": {}}
    )
    if "CodeContentTypeUpdate" in update:
        result["CodeContentType"] = update["CodeContentTypeUpdate"]
    content = update.get("CodeContentUpdate", {})
    description = dict(result.get("CodeContentDescription", {}))
    if "TextContentUpdate" in content:
        description = code_description(
            {
                "CodeContentType": "PLAINTEXT",
                "CodeContent": {"TextContent": content["TextContentUpdate"]},
            }
        )["CodeContentDescription"]
    s3_update = content.get("S3ContentLocationUpdate")
    if s3_update:
        location = dict(description.get("S3ApplicationCodeLocationDescription", {}))
        for key in ("BucketARN", "FileKey", "ObjectVersion"):
            if key + "Update" in s3_update:
                location[key] = s3_update[key + "Update"]
        description["S3ApplicationCodeLocationDescription"] = location
    result["CodeContentDescription"] = description
    return result
