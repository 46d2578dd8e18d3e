"""One-shot `apply` follows its restarting fixes to their end (daemon/commands/follow.py): a fix
the service rolls back is reported rolled back, one that succeeds after ten minutes applied,
and one still running when --wait-seconds ends stays `applying`. The real Reconciler against
the sandbox; the follow's waits advance the sandbox's clock and the injected one together, so
a ten-minute update takes no real time."""

from __future__ import annotations

import pytest

from daemon.commands.follow import follow, following
from daemon.reconcile.reconciler import EnabledRules, Reconciler
from daemon.reconcile.result import ReconcileResult
from daemon.state import AppRef, Cause
from remediations.checkpointing import Checkpointing
from remediations.checkpointing import Settings as CheckpointSettings
from sandbox.testing import next_update
from tests.clock import FakeClock
from tests.contract.harness import Harness
from tests.e2e.test_safe_remediation import (
    ALLOW,
    FRIDAY_NOON,
    NO_CHECKPOINTS,
    TRANSITION,
    Wall,
    advance,
    outcomes,
    reconciler,
    running_app,
)
from tests.e2e.test_safe_remediation import h as safe_remediation_harness  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture
def h(safe_remediation_harness: Harness) -> Harness:  # noqa: F811 - the fixture, by name
    """test_safe_remediation's harness: its sandbox updates take TRANSITION seconds."""
    return safe_remediation_harness


RULES: EnabledRules = [(Checkpointing(), CheckpointSettings(disruption=ALLOW), "enforce")]


class Waits:
    """The follow's sleep: moves the injected clock and the sandbox's by the same amount."""

    def __init__(self, h: Harness) -> None:
        self.h, self.clock, self.total = h, FakeClock(1000.0), 0.0

    def __call__(self, seconds: float) -> None:
        self.clock.now += seconds
        self.total += seconds
        advance(self.h, seconds)


def started(
    h: Harness, name: str, outcome: str, seconds: float
) -> tuple[AppRef, Reconciler, Waits]:
    app = running_app(h, name, NO_CHECKPOINTS)
    waits = Waits(h)
    r = reconciler(h, RULES, Wall(FRIDAY_NOON))
    next_update(h.sandbox.endpoint_url, name, outcome, seconds)
    h.clear_calls()
    return app, r, waits


def run(h: Harness, name: str, outcome: str, seconds: float, wait: float) -> ReconcileResult:
    app, r, waits = started(h, name, outcome, seconds)
    first = r.reconcile(app, Cause("cli"))
    assert outcomes(first) == [(("checkpointing",), "pending")] and following(first)
    (final,) = follow(
        [first],
        lambda a: r.reconcile(a, Cause("cli")),
        wait,
        lambda: False,
        clock=waits.clock,
        sleep=waits,
    )
    assert h.mutating_calls() == ["UpdateApplication"]  # followed, never sent again
    return final


def test_a_fix_the_service_rolls_back_is_reported_rolled_back(h: Harness) -> None:
    final = run(h, "ledger", "rollback", TRANSITION, wait=1800)
    assert final.result == "error" and not following(final)
    assert (("checkpointing",), "rolled_back") in outcomes(final)
    assert (("checkpointing",), "pending") not in outcomes(final)
    assert final.plan is not None and final.plan.drifts  # the drift as apply found it


def test_a_ten_minute_update_is_followed_to_applied(h: Harness) -> None:
    final = run(h, "slow", "succeed", 600, wait=1800)
    assert (final.result, final.next) == ("fixed", "done")
    assert outcomes(final) == [(("checkpointing",), "applied")]


def test_an_update_longer_than_the_wait_stays_applying(h: Harness) -> None:
    final = run(h, "slower", "succeed", 600, wait=120)
    assert following(final)
    assert outcomes(final) == [(("checkpointing",), "pending")]


def test_a_signal_ends_the_follow_at_once(h: Harness) -> None:
    app, r, waits = started(h, "stopped", "succeed", 600)
    first = r.reconcile(app, Cause("cli"))
    again = lambda a: pytest.fail("reconciled after the signal")  # noqa: E731
    assert follow([first], again, 1800, lambda: True, waits.clock, waits) == [first]
    assert waits.total == 0
