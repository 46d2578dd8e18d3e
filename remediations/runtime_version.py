"""runtime_version: the application runs on an allowed runtime (report only).

Old Flink runtimes lose AWS support and security fixes. Upgrading changes the job's behaviour
and needs a compatible build and snapshot, so it is the owner's decision: the rule only reports
(every drift is unfixable and the default mode is alert).

Allowed runtimes are listed per runtime family (FLINK, ZEPPELIN-FLINK for Studio notebooks,
SQL): the rule judges only the families it has a list for, so a fleet's notebooks are not
alerted against a Flink allowlist. A plain list is the FLINK family's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from daemon.state import Drift, Observed
from remediations.base import ANY_APPLICATION, APP_EVENTS, Rule, RuleSettings, runtime_family
from remediations.grants import Scope, Statement

Family = Literal["FLINK", "ZEPPELIN-FLINK", "SQL"]


def _defaults() -> dict[Family, list[str]]:
    return {
        "FLINK": ["FLINK-1_18", "FLINK-1_19", "FLINK-1_20", "FLINK-2_*"],
        "ZEPPELIN-FLINK": ["ZEPPELIN-FLINK-3_0"],
    }


def _list_is_flink(value: object) -> object:
    return {"FLINK": value} if isinstance(value, list | tuple) else value


Allowlists = Annotated[
    dict[Family, list[str]],
    BeforeValidator(_list_is_flink, json_schema_input_type=dict[Family, list[str]] | list[str]),
]


class Settings(RuleSettings):
    allowed: Allowlists = Field(
        default_factory=_defaults,
        description=(
            "Per runtime family (FLINK, ZEPPELIN-FLINK, SQL): the RuntimeEnvironment values "
            "(globs: *, ?, [abc]) an application may run on, e.g. {FLINK: [FLINK-1_20, "
            "FLINK-2_*]}. Families without a list are not judged; a plain list is FLINK's."
        ),
    )

    @field_validator("allowed")
    @classmethod
    def _not_empty(cls, value: dict[Family, list[str]]) -> dict[Family, list[str]]:
        if not value:
            raise ValueError("list the allowed runtimes of at least one family")
        for family, patterns in value.items():
            if not patterns:
                raise ValueError(f"{family}: list at least one runtime (or leave the family out)")
        return value

    def patterns(self, runtime: str) -> list[str] | None:
        """The allowlist of `runtime`'s family; None when this family is not judged."""
        family = runtime_family(runtime)
        return next((p for f, p in self.allowed.items() if f == family), None)

    def allows(self, runtime: str) -> bool:
        patterns = self.patterns(runtime)
        return patterns is None or any(fnmatchcase(runtime, p) for p in patterns)


class RuntimeVersion(Rule[Settings, None]):
    """Never upgrades behind the owner's back: no fix."""

    summary = "The application runs on an allowed runtime (report only)."
    severity = "LOW"
    default_mode = "alert"
    trigger_events = APP_EVENTS
    applies_to = ANY_APPLICATION  # SQL and Studio runtimes age too (per-family lists)

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return f"runtime {detail.get('RuntimeEnvironment', '')}"

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return []  # report only: it writes nothing

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        runtime = str(observed.detail.get("RuntimeEnvironment", ""))
        if settings.allows(runtime):
            return ()
        allowed = settings.patterns(runtime) or []
        return (
            self.drift(
                observed,
                "RuntimeEnvironment",
                runtime,
                tuple(allowed),
                f"runtime {runtime} is not allowed (allowed: {', '.join(allowed)}); "
                "upgrading is the application owner's decision",
                fixable=False,
            ),
        )
