"""runtime_version: pure check (report only), property tests, and an alert on the sandbox."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediations.runtime_version import RuntimeVersion, Settings
from sandbox.server import Sandbox
from tests.contract.harness import Harness
from tests.contract.scenarios import Scenario, plain
from tests.posture_factories import RUNTIMES, observed_with, posture_detail, posture_details

RULE = RuntimeVersion()
allowlists = st.lists(st.sampled_from([*RUNTIMES, "FLINK-2_*", "FLINK-1_1?"]), min_size=1)


def test_default_allowlist_accepts_current_and_rejects_end_of_support_runtimes() -> None:
    for runtime in ("FLINK-1_18", "FLINK-1_20", "FLINK-2_2"):
        assert RULE.check(Settings(), observed_with(posture_detail(runtime=runtime))) == ()
    (drift,) = RULE.check(Settings(), observed_with(posture_detail(runtime="FLINK-1_13")))
    assert (drift.current, drift.fixable) == ("FLINK-1_13", False)
    assert "owner" in drift.message


@given(posture_details(), allowlists)
def test_drift_iff_no_pattern_matches_and_never_a_fix(
    detail: dict[str, Any], allowed: list[str]
) -> None:
    settings = Settings(allowed=allowed)
    state = observed_with(detail)
    drifts = RULE.check(settings, state)
    matches = any(fnmatchcase(detail["RuntimeEnvironment"], p) for p in allowed)
    assert bool(drifts) == (not matches)
    assert all(not d.fixable for d in drifts)
    assert RULE.fix(settings, state, drifts) == ()


def test_sandbox_old_runtime_is_reported_and_never_changed(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    app = h.create_app("legacy", runtime="FLINK-1_15")
    h.clear_calls()
    for mode in ("alert", "enforce"):
        result = h.reconcile(app, [(RULE, Settings(), mode)])
        assert result.result == "drift"
        assert result.plan is not None
        assert [(a.mode, a.rules, a.calls) for a in result.plan.actions] == [
            ("alert", ("runtime_version",), ())
        ]
    assert h.mutating_calls() == []


SCENARIO = Scenario(lambda h: Settings(), plain(runtime="FLINK-1_20"), plain(runtime="FLINK-1_15"))
