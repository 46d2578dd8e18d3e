"""A write another replica is sending is not an orphan (issue 26): the reconcile of its app
waits while that replica may still be recording the reply, then adopts the write only if it
is still unsettled. Two Safeguards share one MemoryStore on one injected wall clock."""

from __future__ import annotations

from daemon.reconcile.safeguards import Safeguards
from daemon.state import Action, Call, Cause
from daemon.store.memory import MemoryStore
from tests.clock import FakeWall
from tests.factories import APP


def _action() -> Action:
    call = Call("kinesisanalyticsv2", "UpdateApplication", {"x": 1}, versioned=True)
    return Action(APP, ("snapshots",), "enforce", (), (call,))


def test_a_young_write_of_another_replica_is_waited_for_then_orphaned() -> None:
    clock = FakeWall()
    store = MemoryStore(clock)
    sender, other = Safeguards(clock, store=store), Safeguards(clock, store=store)
    sender.record_write(_action(), Cause("sweep"), 3)
    other.load(APP)  # first thing in every reconcile
    (write,) = other.orphaned_writes(APP)
    clock.now += 5
    assert 0 < other.write_settling_for(write) <= 15  # the sender may be recording it now
    clock.now += 20
    assert other.write_settling_for(write) == 0  # still unsettled: its sender died


def test_a_settled_write_is_nobodys_orphan() -> None:
    clock = FakeWall()
    store = MemoryStore(clock)
    sender, other = Safeguards(clock, store=store), Safeguards(clock, store=store)
    action = _action()
    write_id = sender.record_write(action, Cause("sweep"), 3)
    assert sender.orphaned_writes(APP) == ()  # its own write in flight
    sender.record_sent(action, write_id, ("req-1",), None, 4)
    clock.now += 30
    other.load(APP)
    assert other.orphaned_writes(APP) == ()
