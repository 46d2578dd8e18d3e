"""system_rollback: pure check and fix, property tests, and a fix over HTTP on the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from remediations.system_rollback import Settings, SystemRollback
from sandbox.server import Sandbox
from tests.contract.harness import Harness, Rules, assert_fixed_and_idempotent
from tests.contract.scenarios import Scenario, plain
from tests.posture_factories import apply_calls, observed_with, posture_detail, posture_details

RULE = SystemRollback()


def test_enabled_rollback_is_compliant() -> None:
    assert RULE.check(Settings(), observed_with(posture_detail(rollback=True))) == ()


def test_disabled_or_undescribed_rollback_drifts() -> None:
    for rollback in (False, None):
        state = observed_with(posture_detail(rollback=rollback))
        (drift,) = RULE.check(Settings(), state)
        assert (drift.current, drift.desired, drift.fixable) == (rollback, True, True)
        (call,) = RULE.fix(Settings(), state, (drift,))
        assert call.versioned
        assert call.params["ApplicationConfigurationUpdate"] == {
            "ApplicationSystemRollbackConfigurationUpdate": {"RollbackEnabledUpdate": True}
        }


@given(posture_details())
def test_drift_iff_flink_without_rollback_and_fix_clears_it(detail: dict[str, Any]) -> None:
    if not RULE.applies(detail):  # SQL and Studio apps have no rollback setting
        assert not detail["RuntimeEnvironment"].startswith("FLINK")
        return
    state = observed_with(detail)
    drifts = RULE.check(Settings(), state)
    description = detail["ApplicationConfigurationDescription"].get(
        "ApplicationSystemRollbackConfigurationDescription", {}
    )
    flink = detail["RuntimeEnvironment"].startswith("FLINK")
    assert bool(drifts) == (flink and description.get("RollbackEnabled") is not True)
    assert RULE.check(Settings(), apply_calls(state, RULE.fix(Settings(), state, drifts))) == ()


def test_sandbox_app_without_rollback_is_fixed_once(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    app = h.create_app("no-rollback")
    rules: Rules = [(RULE, Settings(), "enforce")]
    assert len(h.drifts(app, rules)) == 1
    assert_fixed_and_idempotent(h, app, rules)
    assert h.drifts(app, rules) == []


SCENARIO = Scenario(
    lambda h: Settings(),
    plain({"ApplicationSystemRollbackConfiguration": {"RollbackEnabled": True}}),
    plain(),
)
