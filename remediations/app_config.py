"""Shared pieces of rules about the application's own configuration (DescribeApplication)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from daemon.state import AppRef, Call


def is_flink(detail: Mapping[str, Any]) -> bool:
    """Flink runtimes have the Flink configuration sections; SQL and Zeppelin apps do not."""
    return str(detail.get("RuntimeEnvironment", "")).startswith("FLINK")


def section(detail: Mapping[str, Any], keys: tuple[str, ...]) -> Mapping[str, Any]:
    """The mapping at `keys` in an ApplicationDetail, or {} where any level is missing."""
    node: Any = detail
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def property_groups(detail: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(PropertyGroupId, PropertyMap) of each runtime property group (EnvironmentProperties)."""
    keys = ("ApplicationConfigurationDescription", "EnvironmentPropertyDescriptions")
    groups = section(detail, keys).get("PropertyGroupDescriptions") or ()
    return [(str(g.get("PropertyGroupId", "")), g.get("PropertyMap") or {}) for g in groups]


def update_application(app: AppRef, configuration_update: Mapping[str, Any]) -> Call:
    """A versioned UpdateApplication of `ApplicationConfigurationUpdate` (the planner merges
    several rules' updates of one application into one call)."""
    return Call(
        "kinesisanalyticsv2",
        "UpdateApplication",
        {"ApplicationName": app.name, "ApplicationConfigurationUpdate": configuration_update},
        app.arn,
        versioned=True,
    )
