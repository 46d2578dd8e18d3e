"""runtime_version: the application runs on an allowed runtime (report only).

Old Flink runtimes lose AWS support and security fixes. Upgrading changes the job's behaviour
and needs a compatible build and snapshot, so it is the owner's decision: the rule only reports
(every drift is unfixable and the default mode is alert).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from pydantic import Field

from daemon.state import Drift, Observed
from remediations.base import ANY_APPLICATION, APP_EVENTS, Rule, RuleSettings


class Settings(RuleSettings):
    allowed: list[str] = Field(
        default_factory=lambda: ["FLINK-1_18", "FLINK-1_19", "FLINK-1_20", "FLINK-2_*"],
        min_length=1,
        description=(
            "RuntimeEnvironment values (globs: *, ?, [abc]) an application may run on, "
            "e.g. FLINK-1_20 or FLINK-2_*."
        ),
    )

    def allows(self, runtime: str) -> bool:
        return any(fnmatchcase(runtime, pattern) for pattern in self.allowed)


class RuntimeVersion(Rule[Settings, None]):
    """Never upgrades behind the owner's back: no fix."""

    summary = "The application runs on an allowed runtime (report only)."
    default_mode = "alert"
    trigger_events = APP_EVENTS
    applies_to = ANY_APPLICATION  # SQL and Studio runtimes age too

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        runtime = str(observed.detail.get("RuntimeEnvironment", ""))
        if settings.allows(runtime):
            return ()
        return (
            self.drift(
                observed,
                "RuntimeEnvironment",
                runtime,
                tuple(settings.allowed),
                f"runtime {runtime} is not allowed (allowed: {', '.join(settings.allowed)}); "
                "upgrading is the application owner's decision",
                fixable=False,
            ),
        )
