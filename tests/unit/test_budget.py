"""The fix budget on a fake clock: the window is counted in injected seconds, never waited for."""

from __future__ import annotations

from structlog.testing import capture_logs

from daemon.reconcile.safeguards import BudgetSettings, Safeguards
from daemon.state import AppRef
from tests.clock import FakeWall

APP, OTHER = AppRef("123456789012", "eu-west-1", "a"), AppRef("123456789012", "eu-west-1", "b")


class FixBudget:
    """The fight budget as a fix sees it through the safeguards: asked, then charged once the
    fix succeeded."""

    def __init__(self, limit: int, window_seconds: float, clock: FakeWall) -> None:
        self.safeguards = Safeguards(clock, BudgetSettings(limit, window_seconds))

    def allow(self, app: AppRef, rule: str, actor: str = "") -> bool:
        if not self.safeguards.check(app, rule, actor=actor).go:
            return False
        self.safeguards.record_applied(app, rule)
        return True

    def expire(self) -> None:
        self.safeguards.expire_fights()


def test_past_the_limit_within_the_window_a_pair_is_refused_and_the_fight_named() -> None:
    clock = FakeWall(now=1000.0)
    budget = FixBudget(limit=2, window_seconds=60, clock=clock)
    assert budget.allow(APP, "snapshots", actor="alice")
    clock.now += 30
    assert budget.allow(APP, "snapshots")
    with capture_logs() as logs:
        assert not budget.allow(APP, "snapshots", actor="bob")
    assert [(r["event"], r["actor"], r["fixes"]) for r in logs] == [("fight_detected", "bob", 2)]
    # Other pairs keep their own budget.
    assert budget.allow(OTHER, "snapshots") and budget.allow(APP, "tags")


def test_the_window_slides_fix_by_fix_and_the_fight_ends_with_the_next_allowed_fix() -> None:
    clock = FakeWall(now=1000.0)
    budget = FixBudget(limit=2, window_seconds=60, clock=clock)
    budget.allow(APP, "snapshots")
    clock.now += 30
    budget.allow(APP, "snapshots")
    clock.now += 29.9  # the first fix is 59.9 s old: still counted
    assert not budget.allow(APP, "snapshots")
    clock.now += 0.1  # now 60 s old: out of the window
    with capture_logs() as logs:
        assert budget.allow(APP, "snapshots")
    assert [r["event"] for r in logs] == ["fight_ended"]
    assert not budget.allow(APP, "snapshots")  # the second and third fix fill it again


def test_expire_ends_fights_whose_window_passed_without_a_new_fix() -> None:
    clock = FakeWall(now=1000.0)
    budget = FixBudget(limit=1, window_seconds=60, clock=clock)
    budget.allow(APP, "snapshots")
    assert not budget.allow(APP, "snapshots")
    clock.now += 59
    with capture_logs() as logs:
        budget.expire()
    assert logs == []
    clock.now += 1
    with capture_logs() as logs:
        budget.expire()
        budget.expire()  # once only
    assert [(r["event"], r["app"]) for r in logs] == [("fight_ended", "a")]
