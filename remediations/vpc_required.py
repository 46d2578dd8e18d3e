"""vpc_required: the application runs in a VPC, in allowed subnets.

Regulated workloads must not run on the service's shared network. An application without a VPC
configuration is a finding; with `add_vpc_configuration` the fix attaches the configured subnets
and security groups (AddApplicationVpcConfiguration, one versioned call), otherwise it alerts.
Subnets outside the `subnet_ids` allowlist always alert: moving a running application to other
subnets is a network change its owners must plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, model_validator

from daemon.state import Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.base import FLINK_STREAMING, Rule, RuleSettings
from remediations.grants import Scope, Statement, application_writes
from remediations.network import VPC_EVENTS, vpc_configurations

MAX_SUBNETS = 16  # AddApplicationVpcConfiguration limits
MAX_SECURITY_GROUPS = 5


class Settings(RuleSettings):
    subnet_ids: tuple[str, ...] = Field(
        default=(),
        description="Allowed subnets; empty allows any. The fix attaches the app to these.",
    )
    security_group_ids: tuple[str, ...] = Field(
        default=(), description="Security groups the fix attaches the app with."
    )
    add_vpc_configuration: bool = Field(
        default=False, description="Opt-in fix: attach an app that has no VPC configuration."
    )

    @model_validator(mode="after")
    def _fix_is_possible(self) -> Settings:
        if self.add_vpc_configuration and not (
            1 <= len(self.subnet_ids) <= MAX_SUBNETS
            and 1 <= len(self.security_group_ids) <= MAX_SECURITY_GROUPS
        ):
            raise ValueError(
                f"add_vpc_configuration needs 1-{MAX_SUBNETS} subnet_ids and "
                f"1-{MAX_SECURITY_GROUPS} security_group_ids"
            )
        return self


class VpcRequired(Rule[Settings, None]):
    summary = "The application runs in a VPC, in allowed subnets."
    severity = "MEDIUM"
    # The default mode is enforce: the fix itself is opt-in (add_vpc_configuration).
    write_actions = ("kinesisanalytics:AddApplicationVpcConfiguration",)
    trigger_events = VPC_EVENTS
    # Flink streaming applications only: the legacy SQL runtime has no VPC option, and a
    # Studio notebook's network is its owners' choice (attaching it would cut its access).
    applies_to = FLINK_STREAMING

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.subnets(detail)

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return application_writes(self.write_actions, scope)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        vpcs = vpc_configurations(observed.detail)
        if not vpcs:
            wanted = {
                "SubnetIds": list(settings.subnet_ids),
                "SecurityGroupIds": list(settings.security_group_ids),
            }
            how = "" if settings.add_vpc_configuration else " (the fix is not enabled)"
            return (
                self.drift(
                    observed,
                    "VpcConfiguration",
                    None,
                    wanted,
                    f"application does not run in a VPC{how}",
                    fixable=settings.add_vpc_configuration,
                ),
            )
        if not settings.subnet_ids:
            return ()
        allowed = set(settings.subnet_ids)
        drifts: list[Drift] = []
        for vpc in vpcs:
            outside = sorted(s for s in vpc.get("SubnetIds") or [] if s not in allowed)
            if outside:
                config_id = vpc.get("VpcConfigurationId", "")
                drifts.append(
                    self.drift(
                        observed,
                        f"VpcConfiguration.{config_id}.SubnetIds",
                        outside,
                        sorted(allowed),
                        f"subnets {', '.join(outside)} of VPC {vpc.get('VpcId', '?')} are not "
                        "in the allowlist",
                        fixable=False,
                    )
                )
        return tuple(drifts)

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        if not any(d.field == "VpcConfiguration" and d.fixable for d in drifts):
            return ()
        app = observed.app
        return (
            Call(
                "kinesisanalyticsv2",
                "AddApplicationVpcConfiguration",
                {
                    "ApplicationName": app.name,
                    "VpcConfiguration": {
                        "SubnetIds": list(settings.subnet_ids),
                        "SecurityGroupIds": list(settings.security_group_ids),
                    },
                },
                app.arn,
                versioned=True,
            ),
        )
