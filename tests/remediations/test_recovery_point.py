"""recovery_point: pure checks of the age, the schedule and the retention, and on the sandbox: a
snapshot schedule keeps the newest snapshot younger than the target across a sandbox-clock day,
pruning keeps `retain.count` of the daemon's own and never touches a foreign snapshot."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from daemon.state import AppRef
from remediations.recovery_point import (
    AGE,
    DUE,
    PRUNE,
    RecoveryPoint,
    Retain,
    Schedule,
    Settings,
    Snapshot,
    SnapshotList,
    snapshot_name,
)
from sandbox.server import Sandbox
from sandbox.testing import advance_clock, hold_status
from tests.contract.harness import Harness, Rules
from tests.contract.scenarios import Scenario
from tests.factories import flink_detail, observed

RULE = RecoveryPoint()
NOW = 1_800_000_000.0
MIN = 60.0
SCHEDULED = Settings(
    max_age_minutes=90, schedule=Schedule(every_minutes=60), retain=Retain(count=3)
)


def state(*snapshots: Snapshot, enabled: bool = True) -> Any:
    detail = flink_detail()
    detail["ApplicationStatus"] = "RUNNING"
    config = detail["ApplicationConfigurationDescription"]
    config["ApplicationSnapshotConfigurationDescription"] = {"SnapshotsEnabled": enabled}
    ordered = tuple(sorted(snapshots, key=lambda s: s.created, reverse=True))
    return observed(detail, {RULE.id: SnapshotList(NOW, ordered)})


def ready(name: str, minutes_ago: float, status: str = "READY") -> Snapshot:
    return Snapshot(name, status, NOW - minutes_ago * MIN)


def found(settings: Settings, *snapshots: Snapshot, enabled: bool = True) -> dict[str, bool]:
    return {d.field: d.fixable for d in RULE.check(settings, state(*snapshots, enabled=enabled))}


def test_a_fresh_snapshot_complies_and_none_or_an_old_one_is_alerted() -> None:
    assert found(Settings(max_age_minutes=60), ready("owner", 30)) == {}
    assert found(Settings(max_age_minutes=60), ready("owner", 61)) == {AGE: False}
    assert found(Settings(max_age_minutes=60)) == {AGE: False}
    # A snapshot still CREATING (or FAILED) is no recovery point.
    assert found(
        Settings(max_age_minutes=60), ready("x", 1, "CREATING"), ready("y", 2, "FAILED")
    ) == {AGE: False}


def test_the_schedule_takes_a_snapshot_when_due_and_only_when_it_can() -> None:
    ours = "flink-remediator-1"
    assert found(SCHEDULED, ready(ours, 30)) == {}
    assert found(SCHEDULED, ready(ours, 60)) == {DUE: True}
    # A foreign snapshot is no reason to skip the schedule; an old recovery point is fixed too.
    assert found(SCHEDULED, ready("owner", 5)) == {DUE: True}
    assert found(SCHEDULED, ready(ours, 100)) == {AGE: True}
    assert found(SCHEDULED, ready(ours, 100), enabled=False) == {AGE: False}
    assert found(SCHEDULED, ready(ours, 100), ready(ours + "b", 0.1, "CREATING")) == {AGE: False}
    (call,) = RULE.fix(
        SCHEDULED, state(ready(ours, 60)), RULE.check(SCHEDULED, state(ready(ours, 60)))
    )
    assert (call.operation, call.params["SnapshotName"]) == (
        "CreateApplicationSnapshot",
        snapshot_name("flink-remediator-", NOW),
    )
    assert call.params["SnapshotName"] == "flink-remediator-20270115T080000Z"


def test_retention_prunes_only_the_daemons_own_and_never_the_newest_ready() -> None:
    ours = [ready(f"flink-remediator-{i}", 10 + 60 * i) for i in range(5)]
    foreign = ready("owner-release", 600)
    drifts = RULE.check(SCHEDULED, state(*ours, foreign))
    assert {d.field for d in drifts} == {PRUNE + "flink-remediator-3", PRUNE + "flink-remediator-4"}
    calls = RULE.fix(SCHEDULED, state(*ours, foreign), drifts)
    assert [c.params["SnapshotName"] for c in calls] == ["flink-remediator-3", "flink-remediator-4"]
    assert calls[0].params["SnapshotCreationTimestamp"] == ours[3].created
    # Taking one now: one fewer is kept, so the count holds once it is READY.
    due = [ready(f"flink-remediator-{i}", 60 + 60 * i) for i in range(3)]
    assert {d.field for d in RULE.check(SCHEDULED, state(*due))} == {
        DUE,
        PRUNE + "flink-remediator-2",
    }
    # Days: older ones go even within the count, but never the newest READY snapshot.
    by_days = Settings(retain=Retain(count=5, days=1))
    old = [ready("flink-remediator-a", 2000), ready("flink-remediator-b", 3000)]
    assert {d.field for d in RULE.check(by_days, state(*old))} == {
        AGE,
        PRUNE + "flink-remediator-b",
    }


def test_settings_refuse_a_bad_prefix_or_a_too_tight_schedule() -> None:
    with pytest.raises(ValueError, match="name_prefix"):
        Settings(name_prefix="bad prefix/")
    with pytest.raises(ValueError, match="every_minutes"):
        Settings(schedule=Schedule(every_minutes=1))


# ---- on the sandbox ---------------------------------------------------------------------------

ENABLED = {"ApplicationSnapshotConfiguration": {"SnapshotsEnabled": True}}


def running(h: Harness, name: str, *snapshots: str) -> AppRef:
    app = h.create_app(name, ENABLED)
    flink = h.client("kinesisanalyticsv2")
    flink.start_application(ApplicationName=name)
    advance_clock(h.sandbox.endpoint_url, 1)
    for snapshot in snapshots:
        flink.create_application_snapshot(ApplicationName=name, SnapshotName=snapshot)
    advance_clock(h.sandbox.endpoint_url, 1)  # CREATING -> READY
    return app


def listing(h: Harness, name: str) -> tuple[datetime, list[dict[str, Any]]]:
    answer = h.client("kinesisanalyticsv2").list_application_snapshots(ApplicationName=name)
    now = parsedate_to_datetime(answer["ResponseMetadata"]["HTTPHeaders"]["date"])
    return now, answer["SnapshotSummaries"]


def newest_ready_age_minutes(h: Harness, name: str) -> float:
    now, snapshots = listing(h, name)
    times = [s["SnapshotCreationTimestamp"] for s in snapshots if s["SnapshotStatus"] == "READY"]
    return float((now - max(times)).total_seconds()) / 60


def test_sandbox_snapshot_times_follow_the_sandbox_clock(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    running(h, "aging", "first")
    advance_clock(h.sandbox.endpoint_url, 3 * 3600)
    assert 180 <= newest_ready_age_minutes(h, "aging") < 181


def test_sandbox_a_schedule_keeps_the_recovery_point_across_a_day(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    app = running(h, "day", "owner-before-release")
    rules: Rules = [(RULE, SCHEDULED, "enforce")]
    step_minutes, took = 15, 0
    for _ in range(24 * 60 // step_minutes):
        advance_clock(h.sandbox.endpoint_url, step_minutes * MIN - 1)
        assert newest_ready_age_minutes(h, "day") <= SCHEDULED.max_age_minutes
        h.clear_calls()
        result = h.reconcile(app, rules)  # what the sweep does at each step
        assert result.result in ("fixed", "in_sync"), (result.result, result.error)
        took += h.mutating_calls().count("CreateApplicationSnapshot")
        advance_clock(h.sandbox.endpoint_url, 1)  # CREATING -> READY
        assert newest_ready_age_minutes(h, "day") <= SCHEDULED.max_age_minutes
        _, snapshots = listing(h, "day")
        names = [s["SnapshotName"] for s in snapshots]
        assert "owner-before-release" in names
        assert len([n for n in names if n.startswith("flink-remediator-")]) <= 3
    # Every 60 min, late by at most one sweep step: between one per 75 min and one per hour.
    assert 24 * 60 // 75 <= took <= 24, took
    assert len(listing(h, "day")[1]) == 4  # three of the daemon's and the foreign one


def test_sandbox_no_snapshot_while_the_app_is_busy_or_stopped(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    app = running(h, "busy")
    rules: Rules = [(RULE, SCHEDULED, "enforce")]
    hold_status(h.sandbox.endpoint_url, "busy", "AUTOSCALING", 60)
    h.clear_calls()
    result = h.reconcile(app, rules)
    assert (result.result, h.mutating_calls()) == ("skipped", []), result
    assert result.retry_after_seconds > 0
    advance_clock(h.sandbox.endpoint_url, 61)
    assert h.reconcile(app, rules).result == "fixed"
    assert h.mutating_calls() == ["CreateApplicationSnapshot"]
    h.client("kinesisanalyticsv2").stop_application(ApplicationName="busy")
    advance_clock(h.sandbox.endpoint_url, 24 * 3600)
    assert h.drifts(app, rules) == []  # a stopped app accumulates no state to lose


def _compliant(h: Harness, settings: Any, name: str) -> AppRef:
    return running(h, name, snapshot_name("flink-remediator-", 0))


SCENARIO = Scenario(
    lambda h: Settings(
        max_age_minutes=60, schedule=Schedule(every_minutes=60), retain=Retain(count=2)
    ),
    _compliant,
    lambda h, settings, name: running(h, name),
)
