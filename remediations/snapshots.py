"""snapshots: application snapshots are enabled, so a restart or rollback does not lose state.

Without snapshots, stopping or updating the application discards its state; auditors treat that
as a recoverability gap. The fix is one UpdateApplication that turns SnapshotsEnabled on (and
sets the snapshot mode when one is configured); the planner merges it with the other rules'
UpdateApplication calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from daemon.state import Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.app_config import section, update_application
from remediations.base import APP_EVENTS, UPDATE_APPLICATION, Rule, RuleSettings
from remediations.grants import Scope, Statement, application_writes

SNAPSHOTS = ("ApplicationConfigurationDescription", "ApplicationSnapshotConfigurationDescription")


class Settings(RuleSettings):
    snapshot_mode: Literal["APPLICATION_SNAPSHOTS_LEGACY", "ENHANCED_SNAPSHOTS"] | None = Field(
        None,
        description="Required SnapshotMode; null accepts whatever mode the application uses.",
    )


class Snapshots(Rule[Settings, None]):
    summary = "Application snapshots are enabled."
    severity = "LOW"
    write_actions = UPDATE_APPLICATION
    trigger_events = APP_EVENTS

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.snapshots(detail)

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return application_writes(self.write_actions, scope)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        current = section(observed.detail, SNAPSHOTS)
        drifts: list[Drift] = []
        if current.get("SnapshotsEnabled") is not True:
            drifts.append(
                self.drift(
                    observed,
                    "ApplicationSnapshotConfiguration.SnapshotsEnabled",
                    current.get("SnapshotsEnabled"),
                    True,
                    "snapshots are disabled: a restart loses the application state",
                )
            )
        wanted_mode = settings.snapshot_mode
        if wanted_mode is not None and current.get("SnapshotMode") != wanted_mode:
            drifts.append(
                self.drift(
                    observed,
                    "ApplicationSnapshotConfiguration.SnapshotMode",
                    current.get("SnapshotMode"),
                    wanted_mode,
                    f"snapshot mode is {current.get('SnapshotMode')}, not {wanted_mode}",
                )
            )
        return tuple(drifts)

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        if not drifts:
            return ()
        # SnapshotsEnabledUpdate is required in every snapshot update, even for a mode change.
        update: dict[str, Any] = {"SnapshotsEnabledUpdate": True}
        if settings.snapshot_mode is not None:
            update["SnapshotModeUpdate"] = settings.snapshot_mode
        app = observed.app
        return (update_application(app, {"ApplicationSnapshotConfigurationUpdate": update}),)
