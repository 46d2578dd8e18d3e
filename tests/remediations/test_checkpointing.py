"""checkpointing: pure check and fix, property tests, and a fix over HTTP on the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from remediations.checkpointing import Checkpointing, Settings, effective
from sandbox.server import Sandbox
from tests.contract.harness import Harness, Rules, assert_fixed_and_idempotent
from tests.contract.scenarios import Scenario, flink, plain
from tests.posture_factories import (
    apply_calls,
    checkpoints,
    observed_with,
    posture_detail,
    posture_details,
)

RULE = Checkpointing()
FIELD = "CheckpointConfiguration."


@st.composite
def settings(draw: st.DrawFn) -> Settings:
    low, high = sorted(draw(st.lists(st.integers(1, 600_000), min_size=2, max_size=2)))
    pause_low, pause_high = sorted(draw(st.lists(st.integers(0, 120_000), min_size=2, max_size=2)))
    return Settings(
        interval_min_ms=low,
        interval_max_ms=high,
        min_pause_min_ms=pause_low,
        min_pause_max_ms=pause_high,
    )


def test_the_service_default_is_compliant_with_the_default_bounds() -> None:
    for checkpoint in (None, {"ConfigurationType": "DEFAULT"}):
        assert RULE.check(Settings(), observed_with(posture_detail(checkpoint=checkpoint))) == ()


def test_default_type_means_the_service_values_whatever_the_fields_say() -> None:
    detail = posture_detail(checkpoint={"ConfigurationType": "DEFAULT", "CheckpointInterval": 1})
    assert effective(detail)["CheckpointInterval"] == 60_000


def test_disabled_and_out_of_bounds_values_are_fixed_in_one_custom_update() -> None:
    custom = {
        "ConfigurationType": "CUSTOM",
        "CheckpointingEnabled": False,
        "CheckpointInterval": 900_000,
        "MinPauseBetweenCheckpoints": 500,
    }
    state = observed_with(posture_detail(checkpoint=custom))
    strict = Settings(min_pause_min_ms=1_000)
    drifts = RULE.check(strict, state)
    assert {d.field: d.desired for d in drifts} == {
        FIELD + "CheckpointingEnabled": True,
        FIELD + "CheckpointInterval": 300_000,
        FIELD + "MinPauseBetweenCheckpoints": 1_000,
    }
    (call,) = RULE.fix(strict, state, drifts)
    assert call.versioned
    assert call.params["ApplicationConfigurationUpdate"] == {
        "FlinkApplicationConfigurationUpdate": {
            "CheckpointConfigurationUpdate": {
                "ConfigurationTypeUpdate": "CUSTOM",
                "CheckpointingEnabledUpdate": True,
                "CheckpointIntervalUpdate": 300_000,
                "MinPauseBetweenCheckpointsUpdate": 1_000,
            }
        }
    }


def test_values_within_bounds_are_kept_by_the_fix() -> None:
    custom = {
        "ConfigurationType": "CUSTOM",
        "CheckpointingEnabled": False,
        "CheckpointInterval": 120_000,
        "MinPauseBetweenCheckpoints": 2_000,
    }
    state = observed_with(posture_detail(checkpoint=custom))
    (call,) = RULE.fix(Settings(), state, RULE.check(Settings(), state))
    update = call.params["ApplicationConfigurationUpdate"]["FlinkApplicationConfigurationUpdate"]
    assert update["CheckpointConfigurationUpdate"]["CheckpointIntervalUpdate"] == 120_000
    assert update["CheckpointConfigurationUpdate"]["MinPauseBetweenCheckpointsUpdate"] == 2_000


def test_bounds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="interval_min_ms must not exceed"):
        Settings(interval_min_ms=10, interval_max_ms=5)
    with pytest.raises(ValidationError, match="min_pause_min_ms must not exceed"):
        Settings(min_pause_min_ms=10, min_pause_max_ms=5)


@given(checkpoints, settings())
def test_drift_is_exactly_the_values_out_of_bounds(
    checkpoint: dict[str, Any] | None, bounds: Settings
) -> None:
    detail = posture_detail(checkpoint=checkpoint)
    values = effective(detail)
    expected = (
        {FIELD + "CheckpointingEnabled"} if values["CheckpointingEnabled"] is not True else set()
    )
    for key, (low, high) in bounds.bounds().items():
        if values[key] is None or not low <= values[key] <= high:
            expected.add(FIELD + key)
    assert {d.field for d in RULE.check(bounds, observed_with(detail))} == expected


@given(posture_details(), settings())
def test_fix_then_check_finds_nothing(detail: dict[str, Any], bounds: Settings) -> None:
    state = observed_with(detail)
    drifts = RULE.check(bounds, state)
    calls = RULE.fix(bounds, state, drifts)
    assert len(calls) == (1 if drifts else 0)
    assert RULE.check(bounds, apply_calls(state, calls)) == ()


def test_sandbox_app_with_checkpointing_off_is_fixed_once(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    checkpoint = {
        "ConfigurationType": "CUSTOM",
        "CheckpointingEnabled": False,
        "CheckpointInterval": 900_000,
        "MinPauseBetweenCheckpoints": 5_000,
    }
    app = h.create_app(
        "no-checkpoints", {"FlinkApplicationConfiguration": {"CheckpointConfiguration": checkpoint}}
    )
    rules: Rules = [(RULE, Settings(), "enforce")]
    assert len(h.drifts(app, rules)) == 2
    assert_fixed_and_idempotent(h, app, rules)
    assert h.drifts(app, rules) == []
    assert effective(h.observe(app, rules).detail) == {
        "CheckpointingEnabled": True,
        "CheckpointInterval": 300_000,
        "MinPauseBetweenCheckpoints": 5_000,
    }


SCENARIO = Scenario(
    lambda h: Settings(),
    plain(),  # the service default: on, every 60 s, 5 s pause
    plain(
        flink(
            "CheckpointConfiguration",
            {"ConfigurationType": "CUSTOM", "CheckpointingEnabled": False},
        )
    ),
)
