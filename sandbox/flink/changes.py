"""Configuration changes as functions FlinkApp -> FlinkApp, validated like the real service.

Each builder checks the request against the account (subnets, security groups, log streams)
and returns the change for FlinkBackend.mutate, which adds versioning and statuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from sandbox.flink import configuration as conf
from sandbox.flink import validation
from sandbox.flink.backend import Lookups
from sandbox.flink.errors import invalid
from sandbox.flink.model import FlinkApp, LoggingOption, VpcConfig

Change = Callable[[FlinkApp], FlinkApp]

_LOG_STREAM_ARN = re.compile(
    r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:(?P<group>[^:]+):log-stream:(?P<stream>.+)$"
)


def check_log_stream(lookups: Lookups, arn: str) -> str:
    match = _LOG_STREAM_ARN.match(arn)
    if match is None:
        raise invalid(f"{arn} is not a valid CloudWatch Logs log stream ARN.")
    if not lookups.log_stream_exists(match["group"], match["stream"]):
        raise invalid(f"Log stream {arn} does not exist.")
    return arn


def _next_id(app: FlinkApp, taken: set[str]) -> str:
    """AWS-style ids "<version+1>.<n>", unique within the application."""
    number = 1
    while f"{app.version + 1}.{number}" in taken:
        number += 1
    return f"{app.version + 1}.{number}"


def vpc_config(
    lookups: Lookups, config_id: str, subnets: list[str], groups: list[str]
) -> VpcConfig:
    vpc_ids = set()
    for subnet in subnets:
        vpc_id = lookups.vpc_of_subnet(subnet)
        if vpc_id is None:
            raise invalid(f"Subnet {subnet} does not exist.")
        vpc_ids.add(vpc_id)
    if len(vpc_ids) != 1:
        raise invalid("All subnets of a VPC configuration must belong to the same VPC.")
    for group in groups:
        if not lookups.security_group_exists(group):
            raise invalid(f"Security group {group} does not exist.")
    return VpcConfig(config_id, vpc_ids.pop(), tuple(subnets), tuple(groups))


def add_logging(lookups: Lookups, stream_arn: str) -> Change:
    check_log_stream(lookups, stream_arn)

    def change(app: FlinkApp) -> FlinkApp:
        if any(option.log_stream_arn == stream_arn for option in app.logging):
            raise invalid(f"Log stream {stream_arn} is already attached to {app.name}.")
        if app.logging:
            raise invalid(
                f"Application {app.name} already has a CloudWatch logging option; "
                "only one is supported."
            )
        option = LoggingOption(_next_id(app, set()), stream_arn)
        return replace(app, logging=(*app.logging, option))

    return change


def delete_logging(option_id: str) -> Change:
    def change(app: FlinkApp) -> FlinkApp:
        kept = tuple(o for o in app.logging if o.option_id != option_id)
        if len(kept) == len(app.logging):
            raise invalid(f"Logging option {option_id} does not exist for {app.name}.")
        return replace(app, logging=kept)

    return change


def add_vpc(lookups: Lookups, request: Mapping[str, Any]) -> Change:
    def change(app: FlinkApp) -> FlinkApp:
        if app.vpcs:
            raise invalid(f"Application {app.name} already has a VPC configuration.")
        vpc = vpc_config(
            lookups, _next_id(app, set()), request["SubnetIds"], request["SecurityGroupIds"]
        )
        return replace(app, vpcs=(vpc,))

    return change


def delete_vpc(config_id: str) -> Change:
    def change(app: FlinkApp) -> FlinkApp:
        kept = tuple(v for v in app.vpcs if v.config_id != config_id)
        if len(kept) == len(app.vpcs):
            raise invalid(f"VPC configuration {config_id} does not exist for {app.name}.")
        return replace(app, vpcs=kept)

    return change


def _update_vpcs(lookups: Lookups, app: FlinkApp, updates: list[dict[str, Any]]) -> FlinkApp:
    vpcs = {v.config_id: v for v in app.vpcs}
    for update in updates:
        current = vpcs.get(update["VpcConfigurationId"])
        if current is None:
            raise invalid(f"VPC configuration {update['VpcConfigurationId']} does not exist.")
        vpcs[current.config_id] = vpc_config(
            lookups,
            current.config_id,
            update.get("SubnetIdUpdates", list(current.subnet_ids)),
            update.get("SecurityGroupIdUpdates", list(current.security_group_ids)),
        )
    return replace(app, vpcs=tuple(vpcs.values()))


def _update_logging(lookups: Lookups, app: FlinkApp, updates: list[dict[str, Any]]) -> FlinkApp:
    options = {o.option_id: o for o in app.logging}
    for update in updates:
        option_id = update["CloudWatchLoggingOptionId"]
        if option_id not in options:
            raise invalid(f"Logging option {option_id} does not exist.")
        if "LogStreamARNUpdate" in update:
            arn = check_log_stream(lookups, update["LogStreamARNUpdate"])
            options[option_id] = LoggingOption(option_id, arn)
    return replace(app, logging=tuple(options.values()))


def _update_configuration(lookups: Lookups, app: FlinkApp, update: Mapping[str, Any]) -> FlinkApp:
    if "FlinkApplicationConfigurationUpdate" in update:
        app = replace(
            app,
            flink=conf.apply_flink_update(app.flink, update["FlinkApplicationConfigurationUpdate"]),
        )
    if "ApplicationSnapshotConfigurationUpdate" in update:
        snap = update["ApplicationSnapshotConfigurationUpdate"]
        app = replace(
            app,
            snapshots=conf.snapshot_description(
                snap["SnapshotsEnabledUpdate"],
                snap.get("SnapshotModeUpdate", app.snapshots.get("SnapshotMode")),
            ),
        )
    if "ApplicationSystemRollbackConfigurationUpdate" in update:
        rollback = update["ApplicationSystemRollbackConfigurationUpdate"]
        app = replace(app, rollback_enabled=rollback["RollbackEnabledUpdate"])
    if "ApplicationEncryptionConfigurationUpdate" in update:
        key = update["ApplicationEncryptionConfigurationUpdate"]
        if key["KeyTypeUpdate"] == "CUSTOMER_MANAGED_KEY" and key.get("KeyIdUpdate"):
            validation.check_customer_key(lookups, key["KeyIdUpdate"])
        app = replace(
            app,
            encryption=conf.encryption_description(key["KeyTypeUpdate"], key.get("KeyIdUpdate")),
        )
    if "EnvironmentPropertyUpdates" in update:
        groups = update["EnvironmentPropertyUpdates"]["PropertyGroups"]
        app = replace(app, property_groups=tuple(dict(g) for g in groups))
    if "ApplicationCodeConfigurationUpdate" in update:
        app = replace(
            app, code=conf.apply_code_update(app.code, update["ApplicationCodeConfigurationUpdate"])
        )
    if "VpcConfigurationUpdates" in update:
        app = _update_vpcs(lookups, app, update["VpcConfigurationUpdates"])
    return app


FLINK_ONLY_UPDATES = (
    "FlinkApplicationConfigurationUpdate",
    "ApplicationSnapshotConfigurationUpdate",
    "ApplicationSystemRollbackConfigurationUpdate",
    "ApplicationEncryptionConfigurationUpdate",
    "EnvironmentPropertyUpdates",
)


def _check_family(app: FlinkApp, update: Mapping[str, Any]) -> None:
    """Studio notebooks and SQL apps have no Flink sections (and SQL apps no VPC)."""
    wrong = [] if app.family == "FLINK" else [k for k in FLINK_ONLY_UPDATES if k in update]
    if app.family == "SQL" and "VpcConfigurationUpdates" in update:
        wrong.append("VpcConfigurationUpdates")
    if wrong:
        raise invalid(
            f"The update is not valid for {app.name}, a {app.runtime} application: "
            f"{', '.join(wrong)}."
        )


UPDATE_FIELDS = (
    "ApplicationConfigurationUpdate",
    "ServiceExecutionRoleUpdate",
    "RunConfigurationUpdate",
    "CloudWatchLoggingOptionUpdates",
    "RuntimeEnvironmentUpdate",
)


def update_application(lookups: Lookups, request: Mapping[str, Any]) -> Change:
    if not any(name in request for name in UPDATE_FIELDS):
        raise invalid("UpdateApplication needs at least one update.")
    unsupported = set(request.get("ApplicationConfigurationUpdate", {})) & {
        "SqlApplicationConfigurationUpdate",
        "ZeppelinApplicationConfigurationUpdate",
    }
    if unsupported:
        raise invalid(f"This sandbox does not support {', '.join(sorted(unsupported))}.")

    def change(before: FlinkApp) -> FlinkApp:
        configuration = request.get("ApplicationConfigurationUpdate", {})
        _check_family(before, configuration)
        app = _update_configuration(lookups, before, configuration)
        if "CloudWatchLoggingOptionUpdates" in request:
            app = _update_logging(lookups, app, request["CloudWatchLoggingOptionUpdates"])
        if "ServiceExecutionRoleUpdate" in request:
            role = validation.check_execution_role(
                lookups, request["ServiceExecutionRoleUpdate"], before.arn, before.arn.split(":")[4]
            )
            app = replace(app, role=role)
        runtime = request.get("RuntimeEnvironmentUpdate")
        if runtime is not None:
            family = runtime.split("-")[0]
            if family != before.runtime.split("-")[0] or validation.runtime_version(
                runtime
            ) < validation.runtime_version(before.runtime):
                raise invalid(f"Cannot change the runtime from {app.runtime} to {runtime}.")
            app = replace(app, runtime=runtime)
        validation.check_snapshot_mode(
            app.runtime, before.snapshots.get("SnapshotMode"), app.snapshots.get("SnapshotMode")
        )
        return app

    return change
