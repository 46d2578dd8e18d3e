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


def test_each_family_is_judged_by_its_own_list_and_unknown_families_not_at_all() -> None:
    settings = Settings(allowed={"FLINK": ["FLINK-1_20"], "ZEPPELIN-FLINK": ["ZEPPELIN-FLINK-3_0"]})
    studio = {**posture_detail(runtime="ZEPPELIN-FLINK-3_0"), "ApplicationMode": "INTERACTIVE"}
    assert RULE.check(settings, observed_with(studio)) == ()
    old_studio = {**studio, "RuntimeEnvironment": "ZEPPELIN-FLINK-1_0"}
    (drift,) = RULE.check(settings, observed_with(old_studio))
    assert drift.desired == ("ZEPPELIN-FLINK-3_0",)
    # No SQL list: SQL applications are not judged (the rule does not know that family).
    assert RULE.check(settings, observed_with(posture_detail(runtime="SQL-1_0"))) == ()
    with_sql = Settings(allowed={"SQL": ["SQL-2_*"]})
    assert RULE.check(with_sql, observed_with(posture_detail(runtime="SQL-1_0"))) != ()
    assert RULE.check(with_sql, observed_with(posture_detail(runtime="FLINK-1_6"))) == ()


@pytest.mark.parametrize("allowed", [{}, {"FLINK": []}, {"BEAM": ["X"]}])
def test_empty_or_unknown_families_are_refused(allowed: Any) -> None:
    with pytest.raises(ValueError):
        Settings(allowed=allowed)


@given(posture_details(), allowlists)
def test_drift_iff_no_pattern_matches_and_never_a_fix(
    detail: dict[str, Any], allowed: list[str]
) -> None:
    settings = Settings(allowed=allowed)  # a plain list is the FLINK family's
    state = observed_with(detail)
    drifts = RULE.check(settings, state)
    runtime = detail["RuntimeEnvironment"]
    matches = any(fnmatchcase(runtime, p) for p in allowed)
    judged = runtime.startswith("FLINK-")
    assert bool(drifts) == (judged and not matches)
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
