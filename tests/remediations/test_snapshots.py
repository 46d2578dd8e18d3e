"""snapshots: pure check and fix, property tests, and a fix over HTTP on the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.reconcile.plan import plan
from remediations.snapshots import Settings, Snapshots
from sandbox.server import Sandbox
from tests.contract.harness import Harness, Rules, assert_fixed_and_idempotent
from tests.contract.scenarios import Scenario, plain
from tests.posture_factories import (
    apply_calls,
    observed_with,
    posture_detail,
    posture_details,
    snapshot_configs,
)

RULE = Snapshots()
MODES = st.sampled_from([None, "APPLICATION_SNAPSHOTS_LEGACY", "ENHANCED_SNAPSHOTS"])


def test_enabled_snapshots_are_compliant() -> None:
    state = observed_with(posture_detail(snapshots={"SnapshotsEnabled": True}))
    assert RULE.check(Settings(), state) == ()


def test_disabled_or_undescribed_snapshots_drift_with_one_versioned_update() -> None:
    for snapshots in ({"SnapshotsEnabled": False}, None):
        state = observed_with(posture_detail(snapshots=snapshots))
        drifts = RULE.check(Settings(), state)
        assert [d.field for d in drifts] == ["ApplicationSnapshotConfiguration.SnapshotsEnabled"]
        (call,) = RULE.fix(Settings(), state, drifts)
        assert (call.operation, call.versioned) == ("UpdateApplication", True)
        assert call.params["ApplicationConfigurationUpdate"] == {
            "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True}
        }


def test_non_flink_runtimes_are_not_checked() -> None:
    detail = posture_detail(runtime="SQL-1_0", snapshots={"SnapshotsEnabled": False})
    assert not RULE.applies(detail)
    assert plan(observed_with(detail), [(RULE, Settings(), "enforce")]).actions == ()


@given(snapshot_configs, MODES)
def test_drift_is_exactly_the_difference(snapshots: dict[str, Any] | None, mode: Any) -> None:
    settings = Settings(snapshot_mode=mode)
    fields = {
        d.field for d in RULE.check(settings, observed_with(posture_detail(snapshots=snapshots)))
    }
    expected = set()
    if not (snapshots or {}).get("SnapshotsEnabled"):
        expected.add("ApplicationSnapshotConfiguration.SnapshotsEnabled")
    if mode is not None and (snapshots or {}).get("SnapshotMode") != mode:
        expected.add("ApplicationSnapshotConfiguration.SnapshotMode")
    assert fields == expected


@given(posture_details(), MODES)
def test_fix_then_check_finds_nothing(detail: dict[str, Any], mode: Any) -> None:
    settings = Settings(snapshot_mode=mode)
    state = observed_with(detail)
    drifts = RULE.check(settings, state)
    calls = RULE.fix(settings, state, drifts)
    assert len(calls) == (1 if drifts else 0)
    assert RULE.check(settings, apply_calls(state, calls)) == ()


def test_sandbox_app_without_snapshots_is_fixed_once(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    app = h.create_app("snap", {"ApplicationSnapshotConfiguration": {"SnapshotsEnabled": False}})
    rules: Rules = [(RULE, Settings(snapshot_mode="ENHANCED_SNAPSHOTS"), "enforce")]
    assert {d.field for d in h.drifts(app, rules)} == {
        "ApplicationSnapshotConfiguration.SnapshotsEnabled",
        "ApplicationSnapshotConfiguration.SnapshotMode",
    }
    assert_fixed_and_idempotent(h, app, rules)
    assert h.drifts(app, rules) == []


SCENARIO = Scenario(
    lambda h: Settings(),
    plain({"ApplicationSnapshotConfiguration": {"SnapshotsEnabled": True}}),
    plain({"ApplicationSnapshotConfiguration": {"SnapshotsEnabled": False}}),
)
