"""One Managed Flink application as an immutable value, and its DescribeApplication rendering."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
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
    """A status that ends by itself: at sandbox-clock time `until` the app becomes `then`
    (an empty `then` means the application is gone, the end of DELETING).

    `outcome` says how the change ends (see lifecycle.py): "succeed", "fail" (reverted, READY),
    "rollback" (ROLLING_BACK next, for `rollback_seconds`) or "restore" (the end of a rollback:
    the previous version's configuration). `operation_id` is the operation that ends with it.
    """

    until: float
    then: str
    operation_id: str | None = None
    outcome: str = "succeed"
    rollback_seconds: float = 0.0
    # System rollback was enabled when the change was made (the opt-in in force decides).
    rollback_enabled: bool = False
    # AUTOSCALING: CurrentParallelism at its end (None: unchanged).
    parallelism: int | None = None


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
    rolled_back_from: int | None = None
    rolled_back_to: int | None = None
    # Studio notebooks (ZEPPELIN-FLINK-*) and SQL-1_0 apps: their own description section.
    zeppelin: Mapping[str, Any] | None = None
    sql: Mapping[str, Any] | None = None
    # Versions that ran (RUNNING): a rollback goes back to the newest one before the current.
    ran: tuple[int, ...] = ()
    # UpdateApplicationMaintenanceConfiguration's start time ("" = never set: not described).
    maintenance_start: str = ""

    def last_ran_before(self, version: int) -> int | None:
        earlier = [v for v in self.ran if v < version]
        return max(earlier) if earlier else None

    @property
    def family(self) -> str:
        """ "FLINK", "ZEPPELIN" or "SQL": which configuration sections the app has."""
        if self.runtime.startswith("ZEPPELIN-"):
            return "ZEPPELIN"
        return "SQL" if self.runtime.startswith("SQL-") else "FLINK"


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
    if app.family == "ZEPPELIN":
        config: dict[str, Any] = {
            "ZeppelinApplicationConfigurationDescription": copy.deepcopy(dict(app.zeppelin or {}))
        }
        if app.vpcs:
            config["VpcConfigurationDescriptions"] = [vpc_description(v) for v in app.vpcs]
        return config
    if app.family == "SQL":
        config = {"SqlApplicationConfigurationDescription": copy.deepcopy(dict(app.sql or {}))}
        if app.code is not None:
            config["ApplicationCodeConfigurationDescription"] = copy.deepcopy(dict(app.code))
        return config
    config = {
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
    if app.rolled_back_from is not None:
        detail["ApplicationVersionRolledBackFrom"] = app.rolled_back_from
        detail["ApplicationVersionRolledBackTo"] = app.rolled_back_to
    if app.maintenance_start:
        detail["ApplicationMaintenanceConfigurationDescription"] = maintenance_description(app)
    return detail


def maintenance_description(app: FlinkApp) -> dict[str, str]:
    """The window: the start time set, lasting 8 hours (the length is not documented: assumed)."""
    hours, minutes = (int(p) for p in app.maintenance_start.split(":"))
    return {
        "ApplicationMaintenanceWindowStartTime": app.maintenance_start,
        "ApplicationMaintenanceWindowEndTime": f"{(hours + 8) % 24:02d}:{minutes:02d}",
    }


def application_summary(app: FlinkApp) -> dict[str, Any]:
    return {
        "ApplicationName": app.name,
        "ApplicationARN": app.arn,
        "ApplicationStatus": app.status,
        "ApplicationVersionId": app.version,
        "RuntimeEnvironment": app.runtime,
        "ApplicationMode": app.mode,
    }
