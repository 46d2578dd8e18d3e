"""A restarting fix on an app without system rollback: held by default; when allowed and the
restart fails, Managed Flink (the sandbox, as AWS documents it) leaves the app READY, and the
daemon records `stopped`, counts it for the paging alert and never retries on its own. And a
restarting fix whose operation SUCCEEDED is recorded `applied` and charged to the fight budget
even when someone undid it before the follow-up looked (issue 25, item 5)."""

from __future__ import annotations

import io
from typing import Any

from structlog.testing import capture_logs

from daemon.reconcile.disruption import NO_ROLLBACK_TEXT
from daemon.reconcile.reconciler import EnabledRules
from daemon.reconcile.report import render_text
from daemon.reconcile.safeguards import BudgetSettings
from daemon.state import Cause
from remediations.checkpointing import Checkpointing
from remediations.checkpointing import Settings as CheckpointSettings
from remediations.disruption import Disruption
from remediations.system_rollback import Settings as RollbackSettings
from remediations.system_rollback import SystemRollback
from sandbox.testing import next_update
from tests.clock import FakeWall
from tests.contract.harness import Harness
from tests.e2e.test_safe_remediation import (
    FRIDAY_NOON,
    NO_CHECKPOINTS,
    TRANSITION,
    Wall,
    advance,
    counter,
    h,
    outcomes,
    reconciler,
    running_app,
    status,
)

__all__ = ["h"]  # the fixture
# Checkpointing off (a restarting fix to make), system rollback off.
UNPROTECTED: dict[str, Any] = {
    k: v for k, v in NO_CHECKPOINTS.items() if k != "ApplicationSystemRollbackConfiguration"
}
ALLOW = Disruption(running="allow")


def test_by_default_a_restarting_fix_waits_until_system_rollback_is_on(h: Harness) -> None:
    rules: EnabledRules = [
        (Checkpointing(), CheckpointSettings(disruption=ALLOW), "enforce"),
        (SystemRollback(), RollbackSettings(disruption=ALLOW), "enforce"),
    ]
    app = running_app(h, "orders", UNPROTECTED)
    r = reconciler(h, rules, Wall(FRIDAY_NOON))
    h.clear_calls()

    first = r.reconcile(app, Cause("sweep"))

    by_rule = {o.action.rules: o for o in first.outcomes}
    assert by_rule[("checkpointing",)].outcome == "alerted"
    assert by_rule[("checkpointing",)].error == NO_ROLLBACK_TEXT
    assert by_rule[("system_rollback",)].outcome == "pending"  # the way out is not held
    text = io.StringIO()
    render_text([first], text, dry_run=False)
    assert NO_ROLLBACK_TEXT in text.getvalue()  # plan says why
    sent = h.recorded_calls(operation="UpdateApplication")
    assert len(sent) == 1
    seen: list[tuple[tuple[str, ...], str]] = []
    for _ in range(4):  # system_rollback settles; then checkpointing is made and settles
        advance(h, TRANSITION)
        seen += outcomes(r.reconcile(app, Cause("sweep")))
    assert (("system_rollback",), "applied") in seen and (("checkpointing",), "applied") in seen
    assert status(h, "orders")["ApplicationStatus"] == "RUNNING"
    assert r.reconcile(app, Cause("sweep")).result == "in_sync"


def test_a_failed_restart_without_rollback_stops_the_app_pages_and_is_not_retried(
    h: Harness,
) -> None:
    lifted = Disruption(running="allow", require_system_rollback=False)
    rules: EnabledRules = [(Checkpointing(), CheckpointSettings(disruption=lifted), "enforce")]
    app = running_app(h, "ledger", UNPROTECTED)
    ticks = FakeWall(1000.0, start=FRIDAY_NOON)
    r = reconciler(h, rules, ticks)
    before = counter("flink_remediator_fix_stopped_applications_total", rule="checkpointing")
    next_update(h.sandbox.endpoint_url, "ledger", "fail", TRANSITION)
    h.clear_calls()

    assert outcomes(r.reconcile(app, Cause("sweep"))) == [(("checkpointing",), "pending")]
    advance(h, TRANSITION)
    with capture_logs() as logs:
        settled = r.reconcile(app, Cause("sweep"))

    detail = status(h, "ledger")
    assert (detail["ApplicationStatus"], detail["ApplicationVersionId"]) == ("READY", 2)
    assert (("checkpointing",), "stopped") in outcomes(settled)
    assert settled.result == "error" and "READY" in settled.error
    stopped = [e for e in logs if e["event"] == "remediation_stopped_application"]
    assert stopped and stopped[0]["app"] == "ledger" and stopped[0]["operation_id"]
    assert counter("flink_remediator_fix_stopped_applications_total", rule="checkpointing") == (
        before + 1
    )
    # Never again on its own: not after a day, not after a week.
    for hours in (1, 24, 24 * 7):
        ticks.now += hours * 3600.0
        again = r.reconcile(app, Cause("sweep"))
        assert all(o.outcome != "pending" for o in again.outcomes)
    assert h.mutating_calls() == ["UpdateApplication"]
    # A human changes the application (a new version): the daemon may try again.
    h.client("kinesisanalyticsv2").update_application(
        ApplicationName="ledger",
        CurrentApplicationVersionId=2,
        ApplicationConfigurationUpdate={
            "ApplicationSystemRollbackConfigurationUpdate": {"RollbackEnabledUpdate": True}
        },
    )
    retried = r.reconcile(app, Cause("sweep"))
    assert all(o.outcome != "skipped" for o in retried.outcomes), outcomes(retried)


def test_a_succeeded_fix_undone_before_the_follow_up_is_applied_and_charged(h: Harness) -> None:
    app = running_app(h, "ledger", NO_CHECKPOINTS)
    rules: EnabledRules = [(Checkpointing(), CheckpointSettings(disruption=ALLOW), "enforce")]
    r = reconciler(h, rules, FakeWall(0.0, start=FRIDAY_NOON), budget=BudgetSettings(1, 3600))
    next_update(h.sandbox.endpoint_url, "ledger", "succeed", TRANSITION)

    assert outcomes(r.reconcile(app, Cause("sweep"))) == [(("checkpointing",), "pending")]
    advance(h, TRANSITION)  # our update SUCCEEDED: RUNNING with checkpointing on
    version = status(h, "ledger")["ApplicationVersionId"]
    # Someone turns checkpointing off again before the follow-up looks.
    h.client("kinesisanalyticsv2").update_application(
        ApplicationName="ledger",
        CurrentApplicationVersionId=version,
        ApplicationConfigurationUpdate={
            "FlinkApplicationConfigurationUpdate": {
                "CheckpointConfigurationUpdate": {"CheckpointingEnabledUpdate": False}
            }
        },
    )
    advance(h, TRANSITION)
    settled = r.reconcile(app, Cause("sweep"))

    (applied,) = [o for o in settled.outcomes if o.outcome == "applied"]
    assert applied.action.rules == ("checkpointing",) and applied.operation_id
    assert not r.safeguards.within_budget(app, "checkpointing")  # the one fix is charged
