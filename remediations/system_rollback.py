"""system_rollback: the service may roll a failing update back to the last good version.

With ApplicationSystemRollbackConfiguration enabled, Managed Flink reverts an update or a
scaling change whose job fails to start, instead of leaving the application down. The fix is one
UpdateApplication (merged by the planner with the other rules' updates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from daemon.state import Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.app_config import section, update_application
from remediations.base import APP_EVENTS, UPDATE_APPLICATION, Rule, RuleSettings
from remediations.grants import Scope, Statement, application_writes

ROLLBACK = (
    "ApplicationConfigurationDescription",
    "ApplicationSystemRollbackConfigurationDescription",
)


class Settings(RuleSettings):
    """Nothing to configure beyond `enabled` and `mode`: rollback is on or the rule drifts."""


class SystemRollback(Rule[Settings, None]):
    summary = "Automatic system rollback of failed updates is enabled."
    severity = "LOW"
    write_actions = UPDATE_APPLICATION
    trigger_events = APP_EVENTS

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        conf = shown.configuration(detail).get("ApplicationSystemRollbackConfigurationDescription")
        return f"rollback enabled: {(conf or {}).get('RollbackEnabled')}"

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return application_writes(self.write_actions, scope)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        current = section(observed.detail, ROLLBACK).get("RollbackEnabled")
        if current is True:
            return ()
        return (
            self.drift(
                observed,
                "ApplicationSystemRollbackConfiguration.RollbackEnabled",
                current,
                True,
                "system rollback is disabled: a failed update leaves the application down",
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
