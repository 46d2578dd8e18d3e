"""One Managed Flink application as an immutable value, and its DescribeApplication rendering."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

# Statuses in which the configuration may change (anything else gives ResourceInUseException).
MUTABLE_STATUSES = frozenset({"READY", "RUNNING"})


@dataclass(frozen=True)
class LoggingOption:
    option_id: str
    log_stream_arn: str


@dataclass(frozen=True)
class VpcConfig:
    config_id: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class Transition:
    """A status that ends by itself: at monotonic time `until` the app becomes `then`
    (an empty `then` means the application is gone, the end of DELETING)."""

    until: float
    then: str


@dataclass(frozen=True)
class FlinkApp:
    name: str
    arn: str
    runtime: str
    role: str
    created: float
    updated: float
    version: int
    token: str
    status: str
    # Sub-descriptions in the exact shape DescribeApplication returns; never mutated in place.
    flink: Mapping[str, Any]
    snapshots: Mapping[str, Any]
    encryption: Mapping[str, Any]
    rollback_enabled: bool = False
    description: str = ""
    mode: str = "STREAMING"
    code: Mapping[str, Any] | None = None
    property_groups: tuple[Mapping[str, Any], ...] = ()
    logging: tuple[LoggingOption, ...] = ()
    vpcs: tuple[VpcConfig, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    transition: Transition | None = None
    updated_from: int | None = None

    def settled(self, now: float) -> FlinkApp | None:
        """The app as it is at monotonic time `now` (None once a deletion has finished)."""
        if self.transition is None or now < self.transition.until:
            return self
        if not self.transition.then:
            return None
        return replace(self, status=self.transition.then, transition=None)


def logging_descriptions(app: FlinkApp) -> list[dict[str, Any]]:
    return [
        {"CloudWatchLoggingOptionId": option.option_id, "LogStreamARN": option.log_stream_arn}
        for option in app.logging
    ]


def vpc_description(vpc: VpcConfig) -> dict[str, Any]:
    return {
        "VpcConfigurationId": vpc.config_id,
        "VpcId": vpc.vpc_id,
        "SubnetIds": list(vpc.subnet_ids),
        "SecurityGroupIds": list(vpc.security_group_ids),
    }


def configuration_description(app: FlinkApp) -> dict[str, Any]:
    config: dict[str, Any] = {
        "FlinkApplicationConfigurationDescription": copy.deepcopy(dict(app.flink)),
        "EnvironmentPropertyDescriptions": {
            "PropertyGroupDescriptions": [copy.deepcopy(dict(g)) for g in app.property_groups]
        },
        "ApplicationSnapshotConfigurationDescription": dict(app.snapshots),
        "ApplicationSystemRollbackConfigurationDescription": {
            "RollbackEnabled": app.rollback_enabled
        },
        "ApplicationEncryptionConfigurationDescription": dict(app.encryption),
    }
    if app.code is not None:
        config["ApplicationCodeConfigurationDescription"] = copy.deepcopy(dict(app.code))
    if app.vpcs:
        config["VpcConfigurationDescriptions"] = [vpc_description(v) for v in app.vpcs]
    return config


def application_detail(app: FlinkApp) -> dict[str, Any]:
    """ApplicationDetail, as Describe/Create/UpdateApplication return it."""
    detail: dict[str, Any] = {
        "ApplicationARN": app.arn,
        "ApplicationName": app.name,
        "RuntimeEnvironment": app.runtime,
        "ServiceExecutionRole": app.role,
        "ApplicationStatus": app.status,
        "ApplicationVersionId": app.version,
        "CreateTimestamp": app.created,
        "LastUpdateTimestamp": app.updated,
        "ApplicationConfigurationDescription": configuration_description(app),
        "CloudWatchLoggingOptionDescriptions": logging_descriptions(app),
        "ConditionalToken": app.token,
        "ApplicationMode": app.mode,
    }
    if app.description:
        detail["ApplicationDescription"] = app.description
    if app.updated_from is not None:
        detail["ApplicationVersionUpdatedFrom"] = app.updated_from
    return detail


def application_summary(app: FlinkApp) -> dict[str, Any]:
    return {
        "ApplicationName": app.name,
        "ApplicationARN": app.arn,
        "ApplicationStatus": app.status,
        "ApplicationVersionId": app.version,
        "RuntimeEnvironment": app.runtime,
        "ApplicationMode": app.mode,
    }
