"""checkpointing: checkpoints are on, at an interval and minimum pause within configured bounds.

Checkpoints are what exactly-once processing and recovery after a failure rest on; too rare and
a failure replays a long stretch of input, too frequent and the job spends its time
checkpointing. The fix is one UpdateApplication that switches the checkpoint configuration to
CUSTOM, turns checkpointing on and moves each value out of bounds to the nearest bound (values
already within bounds are kept as they are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, model_validator

from daemon.state import Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.app_config import update_application
from remediations.base import APP_EVENTS, UPDATE_APPLICATION, Rule, RuleSettings
from remediations.grants import Scope, Statement, application_writes

CHECKPOINT = (
    "ApplicationConfigurationDescription",
    "FlinkApplicationConfigurationDescription",
    "CheckpointConfigurationDescription",
)
# What the service uses whenever ConfigurationType is DEFAULT, whatever the fields say.
SERVICE_DEFAULT = {
    "CheckpointingEnabled": True,
    "CheckpointInterval": 60_000,
    "MinPauseBetweenCheckpoints": 5_000,
}


class Settings(RuleSettings):
    interval_min_ms: int = Field(1_000, ge=1, description="Shortest allowed CheckpointInterval.")
    interval_max_ms: int = Field(
        300_000, ge=1, description="Longest allowed CheckpointInterval (bounds replay on failure)."
    )
    min_pause_min_ms: int = Field(
        0, ge=0, description="Smallest allowed MinPauseBetweenCheckpoints."
    )
    min_pause_max_ms: int = Field(
        60_000, ge=0, description="Largest allowed MinPauseBetweenCheckpoints."
    )

    @model_validator(mode="after")
    def _ordered_bounds(self) -> Settings:
        if self.interval_min_ms > self.interval_max_ms:
            raise ValueError("interval_min_ms must not exceed interval_max_ms")
        if self.min_pause_min_ms > self.min_pause_max_ms:
            raise ValueError("min_pause_min_ms must not exceed min_pause_max_ms")
        return self

    def bounds(self) -> dict[str, tuple[int, int]]:
        return {
            "CheckpointInterval": (self.interval_min_ms, self.interval_max_ms),
            "MinPauseBetweenCheckpoints": (self.min_pause_min_ms, self.min_pause_max_ms),
        }


def effective(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The checkpoint values the application really runs with."""
    node: Any = detail
    for key in CHECKPOINT:
        node = node.get(key) if isinstance(node, Mapping) else None
    description: Mapping[str, Any] = node if isinstance(node, Mapping) else {}
    if description.get("ConfigurationType", "DEFAULT") == "DEFAULT":
        return dict(SERVICE_DEFAULT)
    return {key: description.get(key) for key in SERVICE_DEFAULT}


def clamp(key: str, value: Any, low: int, high: int) -> int:
    """`value` moved into [low, high]; a missing value becomes the service default, clamped."""
    fallback = int(SERVICE_DEFAULT[key])
    number = value if isinstance(value, int) and not isinstance(value, bool) else fallback
    return min(max(number, low), high)


class Checkpointing(Rule[Settings, None]):
    summary = "Checkpointing is on, with interval and pause within bounds."
    severity = "LOW"
    write_actions = UPDATE_APPLICATION
    trigger_events = APP_EVENTS

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.compact(shown.flink(detail).get("CheckpointConfigurationDescription") or {})

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return application_writes(self.write_actions, scope)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        values = effective(observed.detail)
        drifts: list[Drift] = []
        if values["CheckpointingEnabled"] is not True:
            drifts.append(
                self.drift(
                    observed,
                    "CheckpointConfiguration.CheckpointingEnabled",
                    values["CheckpointingEnabled"],
                    True,
                    "checkpointing is off: a failure loses state and breaks exactly-once",
                )
            )
        for key, (low, high) in settings.bounds().items():
            value = values[key]
            if isinstance(value, int) and low <= value <= high:
                continue
            drifts.append(
                self.drift(
                    observed,
                    f"CheckpointConfiguration.{key}",
                    value,
                    clamp(key, value, low, high),
                    f"{key} is {value} ms, outside [{low}, {high}] ms",
                )
            )
        return tuple(drifts)

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        if not drifts:
            return ()
        values = effective(observed.detail)
        bounds = settings.bounds()
        # Leaving DEFAULT means every CUSTOM value must be given: send all three, explicitly.
        update: dict[str, Any] = {
            "ConfigurationTypeUpdate": "CUSTOM",
            "CheckpointingEnabledUpdate": True,
            **{
                f"{key}Update": clamp(key, values[key], low, high)
                for key, (low, high) in bounds.items()
            },
        }
        app = observed.app
        return (
            update_application(
                app,
                {"FlinkApplicationConfigurationUpdate": {"CheckpointConfigurationUpdate": update}},
            ),
        )
