"""Disruption windows, the restart gate in the planner, per-rule holds before merging,
backoff after a fix that did not hold, and the rejected-field match (pure, injected clocks)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from daemon.desired import load_config, resolve
from daemon.errors import ConfigError
from daemon.reconcile.disruption import call_restarts
from daemon.reconcile.plan import plan
from daemon.reconcile.reconciler import EnabledRules
from daemon.reconcile.result import ReconcileResult
from daemon.reconcile.safeguards import Safeguards
from daemon.state import AppRef, Call, Drift, Observed
from remediations.base import Rule, RuleSettings
from remediations.disruption import Disruption, Window
from tests.clock import FakeWall
from tests.factories import APP, flink_detail, observed

LONDON_WINDOW = "Sat 02:00-05:00 Europe/London"
PLACE = (APP.account, APP.region)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "open_", "next_opening"),
    [
        (utc(2026, 12, 4, 12, 0), False, utc(2026, 12, 5, 2, 0)),  # Friday, winter: UTC+0
        (utc(2026, 12, 5, 2, 0), True, utc(2026, 12, 5, 2, 0)),
        (utc(2026, 12, 5, 4, 59), True, utc(2026, 12, 5, 2, 0)),
        (utc(2026, 12, 5, 5, 0), False, utc(2026, 12, 12, 2, 0)),  # closed: next week
        (utc(2026, 7, 3, 12, 0), False, utc(2026, 7, 4, 1, 0)),  # summer: BST is UTC+1
    ],
)
def test_a_weekly_window_in_its_time_zone(now: datetime, open_: bool, next_opening: Any) -> None:
    window = Window.parse(LONDON_WINDOW)
    assert window.open_at(now) is open_
    if not open_:
        assert window.next_opening(now) == next_opening


def test_a_window_past_midnight_runs_into_the_next_day() -> None:
    window = Window.parse("Sun 23:00-01:00 UTC")
    assert window.minutes == 120
    assert window.open_at(utc(2026, 12, 7, 0, 30))  # Monday 00:30
    assert not window.open_at(utc(2026, 12, 7, 1, 0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Sat 2am Europe/London", "is not a time like 02:00"),
        ("Caturday 02:00-05:00 UTC", "is not one of Mon"),
        ("Sat 02:00-05:00 Mars/Olympus", "unknown time zone"),
        ("Sat 02:00-25:00 UTC", "is not a time of day"),
        ("Sat 02:00-05:00", "write a window as"),
    ],
)
def test_bad_windows_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Window.parse(text)


def test_decisions_of_each_policy() -> None:
    friday = utc(2026, 12, 4, 12, 0)
    assert Disruption(running="allow").decide(friday) is None
    assert Disruption().decide(friday) == "alert"  # the default
    window = Disruption(running="window", windows=(LONDON_WINDOW,))
    assert window.decide(friday) == utc(2026, 12, 5, 2, 0)
    assert window.decide(utc(2026, 12, 5, 3, 0)) is None
    with pytest.raises(ValueError, match="needs at least one entry"):
        Disruption(running="window")


def test_config_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "desired.yaml"
    path.write_text(
        "version: 1\n"
        "accounts: ['123456789012']\n"
        "regions: [us-east-1]\n"
        "rules:\n"
        "  checkpointing:\n"
        "    disruption:\n"
        "      running: window\n"
        "      windows: ['Sat 2am Europe/London']\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    (problem,) = err.value.problems
    assert problem.startswith(f"{path}:8: rules.checkpointing.disruption.windows[0]: ")
    assert "'2am' is not a time like 02:00" in problem


def test_defaults_rules_and_overrides_set_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "desired.yaml"
    path.write_text(
        "version: 1\n"
        "accounts: ['123456789012']\n"
        "regions: [us-east-1]\n"
        "defaults:\n"
        f"  disruption: {{running: window, windows: ['{LONDON_WINDOW}']}}\n"
        "rules:\n"
        "  snapshots: {disruption: {running: alert}}\n"
        "overrides:\n"
        "  - name: batch\n"
        "    match: {names: ['batch-*']}\n"
        "    rules: {checkpointing: {disruption: {running: allow}}}\n"
    )
    config = load_config(path)
    prod = resolve(config, AppRef("123456789012", "us-east-1", "orders"), {})
    batch = resolve(config, AppRef("123456789012", "us-east-1", "batch-7"), {})

    def running(resolution: Any, rule: str) -> str:
        return str(resolution.rules[rule].settings.disruption.running)

    assert running(prod, "checkpointing") == "window"  # defaults.disruption
    assert running(prod, "snapshots") == "alert"  # the rule's own
    assert running(batch, "checkpointing") == "allow"  # the override
    assert running(batch, "snapshots") == "alert"


class Fixer(Rule[RuleSettings, None]):
    summary = "test"
    write_actions: ClassVar[tuple[str, ...]] = (
        "kinesisanalytics:UpdateApplication",
        "kinesisanalytics:TagResource",
    )

    def __init__(self, rule_id: str, update: dict[str, Any] | None) -> None:
        self.id = rule_id  # type: ignore[misc]
        self._update = update

    def check(self, settings: Any, state: Observed) -> tuple[Drift, ...]:
        return (Drift(self.id, state.app, "f", 1, 2, "differs"),)

    def fix(self, settings: Any, state: Observed, drifts: tuple[Drift, ...]) -> tuple[Call, ...]:
        if self._update is None:
            tags = {"ResourceARN": APP.arn, "Tags": [{"Key": "k", "Value": "v"}]}
            return (Call("kinesisanalyticsv2", "TagResource", tags),)
        params = {"ApplicationName": APP.name, **self._update}
        return (Call("kinesisanalyticsv2", "UpdateApplication", params, versioned=True),)


SNAP: dict[str, Any] = {
    "ApplicationConfigurationUpdate": {"ApplicationSnapshotConfigurationUpdate": {"A": 1}}
}
ROLL: dict[str, Any] = {
    "ApplicationConfigurationUpdate": {"ApplicationSystemRollbackConfigurationUpdate": {}}
}
FRIDAY = utc(2026, 12, 4, 12, 0)
PROTECTED = flink_detail(rollback_enabled=True)  # RUNNING with system rollback


def test_only_configuration_writes_restart_a_running_app() -> None:
    assert call_restarts(Call("kinesisanalyticsv2", "UpdateApplication", {}))
    assert call_restarts(Call("kinesisanalyticsv2", "AddApplicationVpcConfiguration", {}))
    assert not call_restarts(Call("kinesisanalyticsv2", "TagResource", {}))
    assert not call_restarts(Call("iam", "PutRolePolicy", {}))
    assert not call_restarts(Call("logs", "CreateLogGroup", {}))


def test_a_window_defers_only_restarting_fixes_of_running_apps() -> None:
    window = RuleSettings(disruption=Disruption(running="window", windows=(LONDON_WINDOW,)))
    rules: EnabledRules = [
        (Fixer("snap", SNAP), window, "enforce"),
        (Fixer("tags", None), window, "enforce"),
    ]
    running = plan(observed(PROTECTED), rules, FRIDAY)
    by_rule = {a.rules: a for a in running.actions}
    assert by_rule[("snap",)].held == "deferred" and by_rule[("snap",)].restarts
    assert by_rule[("snap",)].deferred_until == utc(2026, 12, 5, 2, 0)
    assert by_rule[("tags",)].held is None and not by_rule[("tags",)].restarts
    ready = plan(observed(flink_detail(status="READY")), rules, FRIDAY)
    assert all(a.held is None for a in ready.actions)


def test_a_held_rule_drops_out_of_the_merged_update_and_the_others_merge() -> None:
    allow = RuleSettings(disruption=Disruption(running="allow"))
    rules: EnabledRules = [
        (Fixer("a", SNAP), allow, "enforce"),
        (Fixer("b", ROLL), allow, "enforce"),
        (Fixer("c", {"X": 1}), allow, "enforce"),
    ]
    asked: list[str] = []

    def hold(rule: str) -> str:
        asked.append(rule)
        return "fix budget exhausted" if rule == "b" else ""

    result = plan(observed(PROTECTED), rules, FRIDAY, hold)
    assert sorted(asked) == ["a", "b", "c"]
    (merged,) = [a for a in result.actions if a.held is None]
    assert merged.rules == ("a", "c") and [p.rules for p in merged.parts] == [("a",), ("c",)]
    (held,) = [a for a in result.actions if a.held is not None]
    assert (held.rules, held.held, held.reason) == (("b",), "skipped", "fix budget exhausted")


def test_backoff_doubles_to_a_day_and_resets_when_someone_else_changes_the_app() -> None:
    clock = FakeWall(0.0)
    follow = Safeguards(clock)
    seconds = [follow.record_failed(APP, "r", version=5, settings="s").seconds for _ in range(7)]
    assert seconds == [3600, 7200, 14400, 28800, 57600, 86400, 86400]
    assert follow.backing_off(APP, "r", 5, "s") is not None
    clock.now = 86400.0
    assert follow.backing_off(APP, "r", 5, "s") is None  # over: one more attempt allowed
    assert follow.record_failed(APP, "r", version=5, settings="s").seconds == 86400  # failed again
    assert follow.backing_off(APP, "r", 6, "s") is None  # someone else moved the version
    assert follow.record_failed(APP, "r", version=6, settings="s").seconds == 3600  # forgotten
    follow.moved_by_us(APP, 7)  # our own change of another rule does not end it
    assert follow.backing_off(APP, "r", 7, "s") is not None
    assert follow.backing_off(APP, "r", 7, "other settings") is None


def test_deferred_fixes_come_due_when_their_window_opens() -> None:
    deferred = Safeguards(lambda: FRIDAY)
    other = AppRef("123456789012", "us-east-1", "other")
    window = RuleSettings(disruption=Disruption(running="window", windows=(LONDON_WINDOW,)))
    rules: EnabledRules = [(Fixer("snap", SNAP), window, "enforce")]
    actions = plan(observed(PROTECTED), rules, FRIDAY)
    deferred.record_deferrals(APP, actions.actions, ["snap"])
    deferred.record_deferrals(other, (), ["snap"])
    assert deferred.next_opening(APP) == utc(2026, 12, 5, 2, 0)
    assert deferred.due([PLACE]) == [] and deferred.next_opening(other) is None
    assert deferred.due([PLACE], utc(2026, 12, 5, 2, 0)) == [APP]
    deferred.record_deferrals(APP, (), ["snap"])  # made, or no longer needed
    assert deferred.due([PLACE], utc(2026, 12, 5, 2, 0)) == []


@pytest.mark.parametrize(
    ("result", "retryable", "delay", "expected"),
    [
        ("in_sync", False, 0.0, "done"),
        ("drift", False, 15.0, "retry"),
        ("skipped", False, 30.0, "retry"),
        ("error", True, 0.0, "retry"),
        ("error", False, 0.0, "terminal"),
    ],
)
def test_next(result: Any, retryable: bool, delay: float, expected: str) -> None:
    outcome = ReconcileResult(APP, result, retryable=retryable, retry_after_seconds=delay)
    assert outcome.next == expected
