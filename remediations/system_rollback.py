"""system_rollback: the service may roll a failing update back to the last good version.

With ApplicationSystemRollbackConfiguration enabled, Managed Flink reverts an update or a
scaling change whose job fails to start, instead of leaving the application down. The fix is one
UpdateApplication (merged by the planner with the other rules' updates).
"""

from __future__ import annotations

from typing import ClassVar

from daemon.state import Call, Drift, Mode, Observed
from remediations.app_config import DescribeOnly, is_flink, section, update_application
from remediations.base import RuleSettings

ROLLBACK = (
    "ApplicationConfigurationDescription",
    "ApplicationSystemRollbackConfigurationDescription",
)


class Settings(RuleSettings):
    """Nothing to configure beyond `enabled` and `mode`: rollback is on or the rule drifts."""


class SystemRollback(DescribeOnly):
    id: ClassVar[str] = "system_rollback"
    summary: ClassVar[str] = "Automatic system rollback of failed updates is enabled."
    settings_model: ClassVar[type[RuleSettings]] = Settings
    default_mode: ClassVar[Mode] = "enforce"
    write_actions: ClassVar[tuple[str, ...]] = ("kinesisanalytics:UpdateApplication",)
    trigger_events: ClassVar[frozenset[str]] = frozenset({"CreateApplication", "UpdateApplication"})

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        if not is_flink(observed.detail):
            return ()
        app = observed.app
        current = section(observed.detail, ROLLBACK).get("RollbackEnabled")
        if current is True:
            return ()
        return (
            Drift(
                self.id,
                app,
                "ApplicationSystemRollbackConfiguration.RollbackEnabled",
                current,
                True,
                "system rollback is disabled: a failed update leaves the application down",
                resource=app.arn,
            ),
        )

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        if not drifts:
            return ()
        app = observed.app
        return (
            update_application(
                app,
                {"ApplicationSystemRollbackConfigurationUpdate": {"RollbackEnabledUpdate": True}},
            ),
        )
