"""The pure planner: modes, unfixable drifts, and UpdateApplication merging."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from daemon.reconcile.plan import MergeConflict, deep_merge, plan
from daemon.state import Call, Drift, Mode, Observed
from remediations.base import Rule, RuleSettings
from remediations.disruption import Disruption
from tests.factories import APP, flink_detail, observed


class FakeRule(Rule[RuleSettings, None]):
    """A rule whose drifts and fix are given up front."""

    summary = "test"
    write_actions: ClassVar[tuple[str, ...]] = (
        "logs:CreateLogGroup",
        "kinesisanalytics:UpdateApplication",
    )

    def __init__(
        self, rule_id: str, drifts: int, update: dict[str, Any] | None, fixable: bool = True
    ):
        self.id = rule_id  # type: ignore[misc]
        self._drifts = drifts
        self._update = update
        self._fixable = fixable

    def check(self, settings: Any, observed: Observed) -> tuple[Drift, ...]:
        return tuple(
            Drift(self.id, observed.app, f"f{i}", 1, 2, "differs", self._fixable)
            for i in range(self._drifts)
        )

    def fix(self, settings: Any, observed: Observed, drifts: tuple[Drift, ...]) -> tuple[Call, ...]:
        if self._update is None:
            return ()
        return (
            Call("logs", "CreateLogGroup", {"logGroupName": self.id}),
            Call(
                "kinesisanalyticsv2",
                "UpdateApplication",
                {"ApplicationName": APP.name, **self._update},
                versioned=True,
            ),
        )


SNAP = {
    "ApplicationConfigurationUpdate": {
        "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True}
    }
}
ROLLBACK = {
    "ApplicationConfigurationUpdate": {
        "ApplicationSystemRollbackConfigurationUpdate": {"RollbackEnabledUpdate": True}
    }
}


# The app in these tests is RUNNING with system rollback: its restarting fixes are allowed here
# (disruption is tested in test_disruption.py).
ALLOW = RuleSettings(disruption=Disruption(running="allow"))


def run(*rules: tuple[FakeRule, Mode]) -> Any:
    return plan(observed(flink_detail(rollback_enabled=True)), [(r, ALLOW, m) for r, m in rules])


def test_no_drift_gives_no_action() -> None:
    assert run((FakeRule("a", 0, SNAP), "enforce")).actions == ()


def test_two_rules_share_one_update_call() -> None:
    result = run((FakeRule("a", 1, SNAP), "enforce"), (FakeRule("b", 2, ROLLBACK), "enforce"))
    assert len(result.actions) == 1
    action = result.actions[0]
    assert action.rules == ("a", "b")
    assert len(action.drifts) == 3
    updates = [c for c in action.calls if c.operation == "UpdateApplication"]
    assert len(updates) == 1
    assert updates[0].params["ApplicationConfigurationUpdate"] == {
        **SNAP["ApplicationConfigurationUpdate"],
        **ROLLBACK["ApplicationConfigurationUpdate"],
    }
    # Non-mergeable calls are kept, before the single update.
    assert [c.operation for c in action.calls] == [
        "CreateLogGroup",
        "CreateLogGroup",
        "UpdateApplication",
    ]


def test_different_modes_are_not_merged() -> None:
    result = run((FakeRule("a", 1, SNAP), "enforce"), (FakeRule("b", 1, ROLLBACK), "dry-run"))
    assert [a.mode for a in result.actions] == ["enforce", "dry-run"]


def test_alert_mode_and_unfixable_drifts_make_alert_actions_without_calls() -> None:
    result = run(
        (FakeRule("a", 1, SNAP), "alert"), (FakeRule("b", 1, SNAP, fixable=False), "enforce")
    )
    assert [(a.mode, a.calls) for a in result.actions] == [("alert", ()), ("alert", ())]


def test_rule_without_fix_alerts() -> None:
    result = run(
        (FakeRule("a", 1, None), "enforce"),
    )
    assert result.actions[0].mode == "alert"


def test_conflicting_updates_stay_separate() -> None:
    one = {
        "ApplicationConfigurationUpdate": {
            "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True}
        }
    }
    other = {
        "ApplicationConfigurationUpdate": {
            "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": False}
        }
    }
    result = run((FakeRule("a", 1, one), "enforce"), (FakeRule("b", 1, other), "enforce"))
    assert len(result.actions) == 2


def test_deep_merge() -> None:
    assert deep_merge({"a": {"b": 1}, "l": [1]}, {"a": {"c": 2}, "l": [2]}) == {
        "a": {"b": 1, "c": 2},
        "l": [1, 2],
    }
    assert deep_merge({"a": 1}, {"a": 1}) == {"a": 1}
    with pytest.raises(MergeConflict):
        deep_merge({"a": 1}, {"a": 2})


@pytest.mark.parametrize(
    ("runtime", "mode"),
    [
        ("SQL-1_0", "STREAMING"),
        ("ZEPPELIN-FLINK-3_0", "INTERACTIVE"),
        ("FLINK-1_20", "INTERACTIVE"),
    ],
)
def test_a_rule_is_not_checked_on_applications_it_does_not_apply_to(
    runtime: str, mode: str
) -> None:
    detail = {**flink_detail(runtime=runtime), "ApplicationMode": mode}
    assert plan(observed(detail), [(FakeRule("a", 1, SNAP), RuleSettings(), "enforce")]) == plan(
        observed(detail), []
    )
    assert run((FakeRule("a", 1, SNAP), "enforce")).actions != ()  # a Flink streaming app is


def test_actions_carry_the_write_actions_their_rules_declared() -> None:
    class Narrow(FakeRule):
        write_actions: ClassVar[tuple[str, ...]] = ("kinesisanalytics:UpdateApplication",)

    result = run((FakeRule("a", 1, SNAP), "enforce"), (Narrow("b", 1, ROLLBACK), "enforce"))
    (action,) = result.actions
    assert action.write_actions == {"logs:CreateLogGroup", "kinesisanalytics:UpdateApplication"}
    (alert,) = run((Narrow("c", 1, None), "enforce")).actions
    assert alert.write_actions == frozenset()  # an alert makes no call
