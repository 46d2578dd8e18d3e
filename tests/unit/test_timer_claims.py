"""Timers that must fire once across replicas (issue 26): deferred fixes are found in the
state store at a window's opening by any replica (one that restarted included) and fired by the
one that claims the opening; a waiver's expiry is claimed the same way. Replicas are
Safeguards sharing one MemoryStore (the table's semantics) on one injected wall clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from daemon.apply.executor import ActionOutcome
from daemon.desired.config import Match, Waiver
from daemon.desired.loader import load_config
from daemon.reconcile.result import ReconcileResult
from daemon.reconcile.safeguards import Safeguards
from daemon.reconcile.waiver_expiry import CLAIM_SECONDS, WaiverExpiries
from daemon.state import Action, AppRef, Cause, Plan
from daemon.store import Item, StoreUnavailable
from daemon.store.memory import MemoryStore
from tests.clock import FakeWall
from tests.e2e.configs import write_config
from tests.factories import APP

PLACE = (APP.account, APP.region)
OTHER_REGION = AppRef(APP.account, "eu-west-1", "orders")
HOUR = 3600.0


def deferred_to(clock: FakeWall, hours: float, app: AppRef = APP) -> tuple[Action, ...]:
    opening = clock.start + timedelta(seconds=clock.now + hours * HOUR)
    return (Action(app, ("snap",), "enforce", (), deferred_until=opening),)


def replicas(clock: FakeWall, n: int = 2) -> tuple[MemoryStore, list[Safeguards]]:
    store = MemoryStore(clock)
    return store, [Safeguards(clock, store=store) for _ in range(n)]


def test_a_deferred_fix_fires_once_across_replicas_at_its_opening() -> None:
    clock = FakeWall()
    _, (a, b) = replicas(clock)
    a.record_deferrals(APP, deferred_to(clock, 2), ["snap"])
    assert a.due([PLACE]) == [] and b.due([PLACE]) == []  # not open yet
    clock.now += 2 * HOUR
    fired = [a.due([PLACE]), b.due([PLACE])]
    assert sorted(fired, key=len) == [[], [APP]]  # b never read the app: it found it too
    assert a.due([PLACE]) == [] and b.due([PLACE]) == []  # claimed: nobody fires it again


def test_a_daemon_started_after_the_deferral_finds_it_without_reading_the_app() -> None:
    clock = FakeWall()
    store, (first,) = replicas(clock, 1)
    first.record_deferrals(APP, deferred_to(clock, 2), ["snap"])
    first.record_deferrals(OTHER_REGION, deferred_to(clock, 1, OTHER_REGION), ["snap"])
    del first  # stopped before the window
    restarted = Safeguards(clock, store=store)
    clock.now += 2 * HOUR
    assert restarted.due([PLACE, (APP.account, "eu-west-1")]) == [OTHER_REGION, APP]
    assert restarted.due([]) == []  # only the places asked about are read


def test_the_fix_made_clears_the_index_and_a_dead_claimant_is_replaced() -> None:
    clock = FakeWall()
    _, (a, b) = replicas(clock)
    a.record_deferrals(APP, deferred_to(clock, 1), ["snap"])
    clock.now += HOUR
    assert a.due([PLACE]) == [APP]  # a claims, then dies before the reconcile ran
    clock.now += 601  # the claim has expired: b fires it
    assert b.due([PLACE]) == [APP]
    b.load(APP)
    b.record_deferrals(APP, (), ["snap"])  # b's reconcile in the window made the fix
    clock.now += 601
    assert a.due([PLACE]) == [] and b.due([PLACE]) == []


def test_an_entry_left_in_the_index_is_removed_after_it_fired() -> None:
    clock = FakeWall()
    store, (a,) = replicas(clock, 1)
    # A deferral whose removal from the index failed: the app's state no longer holds it.
    opening = clock.start.isoformat()
    store.put(
        Item(
            f"deferred#{APP.account}#{APP.region}",
            {"apps": {APP.name: opening}},
            clock() + timedelta(days=1),
        )
    )
    assert a.due([PLACE]) == [APP]
    a.load(APP)
    a.record_deferrals(APP, (), ["snap"])  # its reconcile found nothing deferred
    clock.now += 601
    assert a.due([PLACE]) == []


def test_a_later_opening_is_a_new_claim() -> None:
    clock = FakeWall()
    _, (a, b) = replicas(clock)
    a.record_deferrals(APP, deferred_to(clock, 1), ["snap"])
    clock.now += HOUR
    assert a.due([PLACE]) == [APP]
    a.record_deferrals(APP, deferred_to(clock, 24), ["snap"])  # held again: the next window
    clock.now += 24 * HOUR
    assert b.due([PLACE]) == [APP]


class DownStore(MemoryStore):
    def get_many(self, keys: object) -> dict[str, Item]:
        raise StoreUnavailable("connection refused")

    def put(self, item: Item) -> Item:
        raise StoreUnavailable("connection refused")


def test_without_the_store_no_deferred_fix_fires_and_a_waiver_expiry_does() -> None:
    clock = FakeWall()
    down = Safeguards(clock, store=DownStore(clock))
    assert down.due([PLACE]) == []  # a sweep inside the window makes the fix
    assert down.claim("waiver#x", CLAIM_SECONDS) is True  # a reconcile is safe twice


def waived(app: AppRef, waiver: Waiver) -> ReconcileResult:
    action = Action(app, ("snap",), "enforce", (), held="waived", waiver=waiver.ref)
    return ReconcileResult(
        app, "drift", plan=Plan(app, 1, (action,)), outcomes=(ActionOutcome(action, "waived"),)
    )


def test_a_waiver_expiry_is_fired_by_one_replica(tmp_path: Path) -> None:
    clock = FakeWall()
    _, (a, b) = replicas(clock)
    waiver = Waiver(
        "WVR-1",
        Match(names=("orders",)),
        ("snap",),
        "moves in Q3",
        "CHG-1",
        "jane",
        clock.start + timedelta(days=1),
    )
    config = replace(load_config(write_config(tmp_path / "d.yaml")), waivers=(waiver,))
    expiries = [WaiverExpiries(lambda: config, clock, s.claim) for s in (a, b)]
    for e in expiries:
        e.reconciled(waived(APP, waiver), Cause("sweep"))
    assert [e.due() for e in expiries] == [[], []]
    clock.now += 86400
    fired = [e.due() for e in expiries]
    assert sorted(fired, key=len) == [[], [APP]]
