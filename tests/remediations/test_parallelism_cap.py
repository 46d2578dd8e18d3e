"""parallelism_cap: pure check and fix, property tests, and autoscaling fixed on the sandbox."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediations.parallelism_cap import ParallelismCap, Settings, parallelism
from sandbox.server import Sandbox
from tests.contract.harness import Harness, assert_fixed_and_idempotent
from tests.contract.scenarios import Scenario, flink, plain
from tests.posture_factories import (
    apply_calls,
    observed_with,
    parallelisms,
    posture_detail,
    posture_details,
)

RULE = ParallelismCap()
FIELD = "ParallelismConfiguration."
caps = st.builds(
    Settings,
    max_parallelism=st.one_of(st.none(), st.integers(1, 300)),
    max_kpus=st.one_of(st.none(), st.integers(1, 300)),
    require_autoscaling=st.booleans(),
)


def custom(p: int, per_kpu: int, autoscaling: bool, current: int | None = None) -> dict[str, Any]:
    return {
        "ConfigurationType": "CUSTOM",
        "Parallelism": p,
        "ParallelismPerKPU": per_kpu,
        "CurrentParallelism": current or p,
        "AutoScalingEnabled": autoscaling,
    }


def test_kpus_round_up_and_caps_alert() -> None:
    # 65 / 2 per KPU = 32.5 -> 33 KPUs, one above the cap.
    state = observed_with(posture_detail(parallelism=custom(65, 2, True)))
    (drift,) = RULE.check(Settings(max_kpus=32), state)
    assert (drift.field, drift.current, drift.desired, drift.fixable) == (
        FIELD + "KPUs",
        33,
        32,
        False,
    )
    assert RULE.check(Settings(max_kpus=33), state) == ()
    assert RULE.fix(Settings(max_kpus=32), state, (drift,)) == ()


def test_autoscaled_current_parallelism_counts() -> None:
    state = observed_with(posture_detail(parallelism=custom(4, 1, True, current=40)))
    fields = {d.field for d in RULE.check(Settings(max_parallelism=10, max_kpus=32), state)}
    assert fields == {FIELD + "Parallelism", FIELD + "KPUs"}


def test_autoscaling_is_fixed_keeping_the_parallelism() -> None:
    state = observed_with(posture_detail(parallelism=custom(8, 2, False)))
    settings = Settings(require_autoscaling=True)
    (drift,) = RULE.check(settings, state)
    (call,) = RULE.fix(settings, state, (drift,))
    assert call.versioned
    assert call.params["ApplicationConfigurationUpdate"] == {
        "FlinkApplicationConfigurationUpdate": {
            "ParallelismConfigurationUpdate": {
                "ConfigurationTypeUpdate": "CUSTOM",
                "AutoScalingEnabledUpdate": True,
                "ParallelismUpdate": 8,
                "ParallelismPerKPUUpdate": 2,
            }
        }
    }


@given(parallelisms, caps)
def test_drift_is_exactly_the_caps_exceeded(
    section: dict[str, Any] | None, settings: Settings
) -> None:
    detail = posture_detail(parallelism=section)
    values = parallelism(detail)
    running = max(values["Parallelism"], (section or {}).get("CurrentParallelism", 1))
    kpus = math.ceil(running / values["ParallelismPerKPU"])
    expected = set()
    if settings.max_parallelism is not None and running > settings.max_parallelism:
        expected.add(FIELD + "Parallelism")
    if settings.max_kpus is not None and kpus > settings.max_kpus:
        expected.add(FIELD + "KPUs")
    autoscaling = (
        section is None
        or section["ConfigurationType"] == "DEFAULT"
        or section["AutoScalingEnabled"]
    )
    if settings.require_autoscaling and not autoscaling:
        expected.add(FIELD + "AutoScalingEnabled")
    assert {d.field for d in RULE.check(settings, observed_with(detail))} == expected


@given(posture_details(), caps)
def test_fix_clears_exactly_the_fixable_drift(detail: dict[str, Any], settings: Settings) -> None:
    state = observed_with(detail)
    drifts = RULE.check(settings, state)
    fixable = tuple(d for d in drifts if d.fixable)
    after = RULE.check(settings, apply_calls(state, RULE.fix(settings, state, fixable)))
    assert after == tuple(d for d in drifts if not d.fixable)


def test_sandbox_autoscaling_is_turned_on_and_the_kpu_cap_alerts(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    section = {
        "ConfigurationType": "CUSTOM",
        "Parallelism": 48,
        "ParallelismPerKPU": 1,
        "AutoScalingEnabled": False,
    }
    app = h.create_app(
        "big", {"FlinkApplicationConfiguration": {"ParallelismConfiguration": section}}
    )
    rules: list[Any] = [(RULE, Settings(max_kpus=32, require_autoscaling=True), "enforce")]
    assert_fixed_and_idempotent(h, app, rules)
    values = parallelism(h.observe(app, rules).detail)
    assert (values["AutoScalingEnabled"], values["Parallelism"]) == (True, 48)
    assert [d.field for d in h.drifts(app, rules)] == [FIELD + "KPUs"]


SCENARIO = Scenario(
    lambda h: Settings(max_kpus=32, require_autoscaling=True),
    plain(),  # DEFAULT: parallelism 1, autoscaling on
    plain(
        flink(
            "ParallelismConfiguration",
            {"ConfigurationType": "CUSTOM", "Parallelism": 48, "AutoScalingEnabled": False},
        )
    ),
)
