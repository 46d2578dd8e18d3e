"""disruption.require_system_rollback: restarting fixes only on apps with system rollback, except
the fix that turns it on; and a fix that stopped an app is never retried on its own."""

from __future__ import annotations

from pathlib import Path

from daemon.desired import load_config, resolve
from daemon.reconcile.disruption import NO_ROLLBACK_TEXT
from daemon.reconcile.plan import plan
from daemon.reconcile.reconciler import EnabledRules
from daemon.reconcile.safeguards import Safeguards
from daemon.state import AppRef
from remediations.base import RuleSettings
from remediations.disruption import Disruption
from remediations.system_rollback import Settings as RollbackSettings
from remediations.system_rollback import SystemRollback
from tests.clock import FakeWall
from tests.factories import APP, flink_detail, observed
from tests.unit.test_disruption import FRIDAY, LONDON_WINDOW, SNAP, Fixer

ALLOW = Disruption(running="allow")


def held(
    rules: EnabledRules, rollback_enabled: bool | None, status: str = "RUNNING"
) -> dict[str, str]:
    """rule -> its action's held outcome and reason ("" when it is made)."""
    detail = flink_detail(status=status, rollback_enabled=rollback_enabled)
    result = plan(observed(detail), rules, FRIDAY)
    return {r: f"{a.held or ''} {a.reason}".strip() for a in result.actions for r in a.rules}


def test_a_restarting_fix_waits_for_system_rollback_but_turning_it_on_does_not() -> None:
    rules: EnabledRules = [
        (Fixer("snapshots", SNAP), RuleSettings(disruption=ALLOW), "enforce"),
        (SystemRollback(), RollbackSettings(disruption=ALLOW), "enforce"),
        (Fixer("tags", None), RuleSettings(disruption=ALLOW), "enforce"),
    ]
    for unprotected in (None, False):
        assert held(rules, unprotected) == {
            "snapshots": f"alerted {NO_ROLLBACK_TEXT}",
            "system_rollback": "",  # the way out of the requirement
            "tags": "",  # restarts nothing
        }
    assert held(rules[:1], True) == {"snapshots": ""}
    assert held(rules[:1], None, status="READY") == {"snapshots": ""}


def test_the_requirement_can_be_lifted_and_does_not_replace_the_other_policies() -> None:
    lifted = Disruption(running="allow", require_system_rollback=False)
    assert held([(Fixer("a", SNAP), RuleSettings(disruption=lifted), "enforce")], None) == {"a": ""}
    default = held([(Fixer("a", SNAP), RuleSettings(), "enforce")], None)
    assert default["a"].startswith("alerted not applied")  # running: alert says so itself
    window = Disruption(running="window", windows=(LONDON_WINDOW,))
    rollback_in_window = held(
        [(SystemRollback(), RollbackSettings(disruption=window), "enforce")], False
    )
    assert rollback_in_window["system_rollback"].startswith("deferred deferred until 2026-12-05T02")


def test_require_system_rollback_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "desired.yaml"
    path.write_text(
        "version: 1\n"
        "accounts: ['123456789012']\n"
        "regions: [us-east-1]\n"
        "defaults:\n"
        "  disruption: {running: allow}\n"
        "rules:\n"
        "  checkpointing: {disruption: {running: allow, require_system_rollback: false}}\n"
    )
    resolution = resolve(load_config(path), AppRef("123456789012", "us-east-1", "orders"), {})
    settings = {r: resolution.rules[r].settings.disruption for r in ("checkpointing", "snapshots")}
    assert (
        settings["checkpointing"] is not None
        and not settings["checkpointing"].require_system_rollback
    )
    assert settings["snapshots"] is not None and settings["snapshots"].require_system_rollback


def test_a_fix_that_stopped_the_app_is_backed_off_until_the_app_or_settings_change() -> None:
    clock = FakeWall()
    safeguards = Safeguards(clock)
    safeguards.record_failed(APP, "checkpointing", version=4, settings="s1", stopped=True)
    clock.now += 365 * 24 * 3600.0
    assert safeguards.backing_off(APP, "checkpointing", 4, "s1") is not None
    assert safeguards.backing_off(APP, "checkpointing", 4, "s2") is None  # settings changed
    safeguards.record_failed(APP, "checkpointing", version=4, settings="s1", stopped=True)
    assert safeguards.backing_off(APP, "checkpointing", 5, "s1") is None  # someone changed the app
