"""Small rules for the desired-state tests (the real registry may still be empty)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from daemon.state import Mode
from remediations.base import RuleSettings

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)


class LoggingSettings(RuleSettings):
    log_stream_arn: str = (
        "arn:aws:logs:{region}:{account}:log-group:/aws/kinesis-analytics/{application}"
        ":log-stream:kinesis-analytics-log-stream"
    )
    retention_days: int = 30
    log_level: Literal["INFO", "WARN", "ERROR", "DEBUG"] = "INFO"
    metrics_level: Literal["APPLICATION", "TASK", "OPERATOR", "PARALLELISM"] = "APPLICATION"

    @field_validator("retention_days")
    @classmethod
    def _allowed_retention(cls, value: int) -> int:
        if value not in RETENTION_DAYS:
            raise ValueError(f"retention_days must be one of {', '.join(map(str, RETENTION_DAYS))}")
        return value


class DemoLogging:
    id: ClassVar[str] = "demo_logging"
    summary: ClassVar[str] = "Applications log to CloudWatch"
    settings_model: ClassVar[type[RuleSettings]] = LoggingSettings
    default_mode: ClassVar[Mode] = "enforce"


class SnapshotSettings(RuleSettings):
    keep: int = Field(default=5, ge=1)
    min_keep: int = Field(default=2, ge=0)

    @model_validator(mode="after")
    def _min_not_above_keep(self) -> SnapshotSettings:
        if self.min_keep > self.keep:
            raise ValueError(f"min_keep ({self.min_keep}) is above keep ({self.keep})")
        return self


class DemoSnapshots:
    id: ClassVar[str] = "demo_snapshots"
    summary: ClassVar[str] = "Applications keep snapshots"
    settings_model: ClassVar[type[RuleSettings]] = SnapshotSettings
    default_mode: ClassVar[Mode] = "alert"


RULES = (DemoLogging(), DemoSnapshots())
