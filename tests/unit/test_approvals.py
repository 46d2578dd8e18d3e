"""Approvals of restarting fixes (`disruption.running: approved`, issue 31): the plan digest,
the reasons an approval is refused, its one use, and the `approved` setting's validation."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from daemon.commands.approve import approval_of
from daemon.reconcile.approvals import awaiting, digest_of, staleness, usable_between, with_approval
from daemon.reconcile.disruption import AWAITING_APPROVAL, decide_again, decision_word
from daemon.reconcile.plan import plan
from daemon.reconcile.reconciler import EnabledRules
from daemon.reconcile.safeguards import Safeguards
from daemon.state import Plan
from daemon.store.memory import MemoryStore
from remediations.base import RuleSettings
from remediations.disruption import Disruption
from tests.clock import FakeWall
from tests.factories import flink_detail, observed
from tests.unit.test_disruption import FRIDAY, LONDON_WINDOW, ROLL, SNAP, Fixer, utc

APPROVED = RuleSettings(disruption=Disruption(running="approved"))


def planned(
    update: dict[str, Any] = SNAP, version: int = 3, settings: RuleSettings = APPROVED
) -> Plan:
    rules: EnabledRules = [
        (Fixer("snap", update), settings, "enforce"),
        (Fixer("roll", ROLL), settings, "enforce"),
        (Fixer("tags", None), settings, "enforce"),
    ]
    detail = flink_detail(rollback_enabled=True, version=version)
    return plan(observed(detail), rules, FRIDAY)


def test_approved_is_a_valid_setting_and_only_a_typo_is_refused() -> None:
    assert Disruption(running="approved").decide(FRIDAY) == "approval"  # windows optional
    with pytest.raises(ValidationError, match="'allow', 'window', 'approved' or 'alert'"):
        Disruption.model_validate({"running": "approve"})


def test_restarting_fixes_await_approval_and_the_others_go() -> None:
    result = planned()
    waiting = awaiting(result.actions)
    assert sorted(r for a in waiting for r in a.rules) == ["roll", "snap"]
    for action in waiting:
        assert action.held == "deferred" and action.reason.startswith(AWAITING_APPROVAL)
        assert action.deferred_until is None
        assert decision_word(action) == "approval" and decide_again(action, FRIDAY) == "approval"
    (tags,) = [a for a in result.actions if a.rules == ("tags",)]
    assert tags.held is None
    ready = plan(observed(flink_detail(status="READY")), [(Fixer("s", SNAP), APPROVED, "enforce")])
    assert all(a.held is None for a in ready.actions)  # a stopped app restarts nothing


def test_the_digest_covers_the_calls_and_the_version() -> None:
    first = digest_of(3, awaiting(planned().actions))
    assert first == digest_of(3, awaiting(planned().actions))
    assert len(first) == 64
    assert digest_of(4, awaiting(planned().actions)) != first
    other = {"ApplicationConfigurationUpdate": {"ApplicationSnapshotConfigurationUpdate": {"A": 2}}}
    assert digest_of(3, awaiting(planned(other).actions)) != first


def test_an_approval_is_usable_in_its_window_or_a_week() -> None:
    assert usable_between((), FRIDAY) == (FRIDAY, FRIDAY + timedelta(days=7))
    opens, closes = usable_between((LONDON_WINDOW,), FRIDAY)
    assert (opens, closes) == (utc(2026, 12, 5, 2), utc(2026, 12, 5, 5))
    inside = utc(2026, 12, 5, 3)  # inside: this opening, not next week's
    assert usable_between((LONDON_WINDOW,), inside) == (utc(2026, 12, 5, 2), utc(2026, 12, 5, 5))


def test_staleness_reasons() -> None:
    result = planned()
    approval = approval_of(result, "jane", "CHG-1", "", FRIDAY)
    digest = digest_of(3, awaiting(result.actions))
    assert staleness(approval, 3, digest, FRIDAY) == ""
    assert staleness(approval, 4, digest, FRIDAY) == "version changed (approved at 3, now 4)"
    changed = digest_of(3, awaiting(planned({"ApplicationConfigurationUpdate": {}}).actions))
    assert staleness(approval, 3, changed, FRIDAY) == (
        "planned change differs from the approved plan"
    )
    late = FRIDAY + timedelta(days=8)
    assert staleness(approval, 3, digest, late).startswith("window closed at ")


def test_a_valid_approval_releases_exactly_the_approved_calls_once() -> None:
    wall = FakeWall(start=FRIDAY)
    store = MemoryStore(wall)
    one, two = Safeguards(clock=wall, store=store), Safeguards(clock=wall, store=store)
    result = planned()
    approval = one.record_approval(approval_of(result, "jane", "CHG-1", "", FRIDAY))
    assert with_approval(result, one, dry_run=True) is not result  # a dry-run does not use it
    released = with_approval(result, one, dry_run=False)
    (fix,) = [a for a in released.actions if a.approval is not None]
    assert fix.held is None and fix.rules == ("snap", "roll")
    assert [dict(c.params) for c in fix.calls] == [dict(c["params"]) for c in approval.calls]
    assert fix.approval == approval.ref
    again = with_approval(result, two, dry_run=False)  # the other replica: already used
    assert not any(a.approval for a in again.actions)
    assert all("last approval" in a.reason and " used" in a.reason for a in awaiting(again.actions))


def test_two_replicas_cannot_both_use_one_approval() -> None:
    wall = FakeWall(start=FRIDAY)
    store = MemoryStore(wall)
    one, two = Safeguards(clock=wall, store=store), Safeguards(clock=wall, store=store)
    one.record_approval(approval_of(planned(), "jane", "CHG-1", "", FRIDAY))
    read_by_one, read_by_two = one.approval_for(planned().app), two.approval_for(planned().app)
    assert read_by_one is not None and read_by_two is not None
    assert one.consume_approval(read_by_one)
    assert not two.consume_approval(read_by_two)  # the conditional write is refused


def test_a_stale_approval_is_refused_with_its_reason_and_stays_refused() -> None:
    wall = FakeWall(start=FRIDAY)
    guards = Safeguards(clock=wall, store=MemoryStore(wall))
    guards.record_approval(approval_of(planned(), "jane", "CHG-1", "", FRIDAY))
    moved = planned(version=4)
    result = with_approval(moved, guards, dry_run=False)
    assert not any(a.approval for a in result.actions)
    stored = guards.approval_for(moved.app)
    assert stored is not None and stored.state == "refused"
    assert {a.reason for a in awaiting(result.actions)} == {
        f"{AWAITING_APPROVAL}: approval {stored.id} refused: "
        "version changed (approved at 3, now 4) (restarts the running application)"
    }
    # Back at the approved version, a refused approval is still never used.
    assert not any(a.approval for a in with_approval(planned(), guards, False).actions)


def test_before_its_window_the_fix_waits_for_the_opening() -> None:
    wall = FakeWall(start=FRIDAY)
    guards = Safeguards(clock=wall, store=MemoryStore(wall))
    windowed = RuleSettings(disruption=Disruption(running="approved", windows=(LONDON_WINDOW,)))
    result = planned(settings=windowed)
    guards.record_approval(approval_of(result, "jane", "CHG-1", "", FRIDAY))
    early = with_approval(result, guards, dry_run=False)
    assert {a.deferred_until for a in awaiting(early.actions)} == {utc(2026, 12, 5, 2)}
    wall.now = (utc(2026, 12, 5, 2, 30) - FRIDAY).total_seconds()
    assert any(a.approval for a in with_approval(result, guards, False).actions)


def test_an_unprotected_app_is_still_held_for_rollback() -> None:
    detail = replace(observed(flink_detail()), detail=flink_detail(rollback_enabled=False))
    result = plan(detail, [(Fixer("snap", SNAP), APPROVED, "enforce")], FRIDAY)
    assert [a.held for a in result.actions] == ["alerted"]
