"""parallelism_cap: a cost cap on parallelism and KPUs, and optionally autoscaling required.

Managed Flink bills per KPU, and KPUs = ceil(Parallelism / ParallelismPerKPU). The caps apply
to the parallelism the app really runs at: with autoscaling, CurrentParallelism can exceed the
configured Parallelism. Lowering parallelism would drop throughput and needs a restart from a
snapshot, so a cap breach is only reported (unfixable). Autoscaling, when required, is fixed
with one UpdateApplication that turns it on and keeps the configured parallelism as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from daemon.state import Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.app_config import section, update_application
from remediations.base import APP_EVENTS, UPDATE_APPLICATION, Rule, RuleSettings
from remediations.grants import Scope, Statement, application_writes

PARALLELISM = (
    "ApplicationConfigurationDescription",
    "FlinkApplicationConfigurationDescription",
    "ParallelismConfigurationDescription",
)
# What the service reports for a DEFAULT parallelism configuration.
SERVICE_DEFAULT = {"Parallelism": 1, "ParallelismPerKPU": 1, "AutoScalingEnabled": True}


class Settings(RuleSettings):
    max_parallelism: int | None = Field(
        None, ge=1, description="Highest allowed parallelism; null: no cap."
    )
    max_kpus: int | None = Field(
        32,
        ge=1,
        description="Highest allowed KPU count, ceil(parallelism / ParallelismPerKPU); "
        "null: no cap.",
    )
    require_autoscaling: bool = Field(
        False, description="Require AutoScalingEnabled; the only drift the fix changes."
    )


def parallelism(detail: Mapping[str, Any]) -> dict[str, Any]:
    """Parallelism, ParallelismPerKPU, AutoScalingEnabled and the parallelism the app runs
    at ("Running": the higher of Parallelism and CurrentParallelism)."""
    description = section(detail, PARALLELISM)
    values = {key: description.get(key, default) for key, default in SERVICE_DEFAULT.items()}
    if description.get("ConfigurationType", "DEFAULT") == "DEFAULT":
        values["AutoScalingEnabled"] = True  # DEFAULT always scales automatically
    current = description.get("CurrentParallelism", values["Parallelism"])
    values["Running"] = max(int(values["Parallelism"]), int(current))
    return values


def kpus(running: int, per_kpu: int) -> int:
    return math.ceil(running / max(per_kpu, 1))


class ParallelismCap(Rule[Settings, None]):
    summary = "Parallelism and KPUs stay under a cost cap; autoscaling optional."
    severity = "LOW"
    default_mode = "alert"
    write_actions = UPDATE_APPLICATION
    trigger_events = APP_EVENTS

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.compact(shown.flink(detail).get("ParallelismConfigurationDescription") or {})

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return application_writes(self.write_actions, scope)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        values = parallelism(observed.detail)
        running = values["Running"]
        used = kpus(running, int(values["ParallelismPerKPU"]))
        drifts: list[Drift] = []

        def drift(field: str, current: Any, desired: Any, message: str, fixable: bool) -> None:
            drifts.append(self.drift(observed, field, current, desired, message, fixable=fixable))

        if settings.max_parallelism is not None and running > settings.max_parallelism:
            drift(
                "ParallelismConfiguration.Parallelism",
                running,
                settings.max_parallelism,
                f"runs at parallelism {running}, above the cap of {settings.max_parallelism}",
                False,
            )
        if settings.max_kpus is not None and used > settings.max_kpus:
            drift(
                "ParallelismConfiguration.KPUs",
                used,
                settings.max_kpus,
                f"uses {used} KPUs (parallelism {running} / {values['ParallelismPerKPU']} per "
                f"KPU), above the cap of {settings.max_kpus}",
                False,
            )
        if settings.require_autoscaling and values["AutoScalingEnabled"] is not True:
            drift(
                "ParallelismConfiguration.AutoScalingEnabled",
                values["AutoScalingEnabled"],
                True,
                "autoscaling is off: load spikes are not absorbed",
                True,
            )
        return tuple(drifts)

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        if not any(d.field.endswith(".AutoScalingEnabled") and d.fixable for d in drifts):
            return ()
        values = parallelism(observed.detail)
        app = observed.app
        update = {
            "ConfigurationTypeUpdate": "CUSTOM",
            "AutoScalingEnabledUpdate": True,
            # Restated as the app runs now (autoscaling may have raised it above Parallelism),
            # so that turning autoscaling on never scales a running application down.
            "ParallelismUpdate": int(values["Running"]),
            "ParallelismPerKPUUpdate": int(values["ParallelismPerKPU"]),
        }
        return (
            update_application(
                app,
                {"FlinkApplicationConfigurationUpdate": {"ParallelismConfigurationUpdate": update}},
            ),
        )
