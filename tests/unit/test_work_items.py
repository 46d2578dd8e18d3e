"""The daemon's work items through the real work queue: each run gets the cause of the submits
it serves (the latest event wins over sweeps), and a refused submit leaves no cause behind."""

from __future__ import annotations

import threading

import structlog

from daemon.reconcile.controller import (
    AppQueue,
    RetryBackoff,
    Work,
    cause_of,
    due_submitter,
    runner,
    settle_ticket,
    submitter,
)
from daemon.reconcile.inventory import Inventory
from daemon.reconcile.listeners import InventoryUpdate
from daemon.reconcile.result import ReconcileResult
from daemon.reconcile.workqueue import Retry, Ticket, WorkQueue
from daemon.state import AppRef, Cause
from tests.clock import FakeClock

WAIT = 10.0  # seconds; only reached when the queue is broken
APP, OTHER = AppRef("123456789012", "eu-west-1", "app"), AppRef("123456789012", "eu-west-1", "b")
SWEEP = Cause("sweep")


def event(n: int) -> Cause:
    return Cause("event", f"event-{n}", f"arn:aws:iam::123456789012:user/u{n}")


def work(cause: Cause) -> Work:
    return Work(cause, Ticket([APP], lambda ok: None))


class Runs:
    """Records the cause each run was given; results by app (default: ok)."""

    def __init__(self) -> None:
        self.causes: list[tuple[str, Cause]] = []
        self.failing: set[AppRef] = set()
        self._lock = threading.Lock()

    def __call__(self, app: AppRef, items: tuple[Work, ...]) -> bool:
        with self._lock:
            self.causes.append((app.name, cause_of(items)))
        return app not in self.failing


def queue(runs: Runs, clock: FakeClock, max_pending_keys: int = 10) -> AppQueue:
    return WorkQueue(
        runs,
        on_done=settle_ticket,
        clock=clock,
        on_depth=lambda _: None,
        debounce_seconds=1.0,
        max_pending_keys=max_pending_keys,
    )


def drain(q: AppQueue, clock: FakeClock) -> None:
    clock.now += 1.0
    q.recheck()
    assert q.join(WAIT)


def test_an_event_cause_wins_over_sweeps_coalesced_with_it_in_any_order() -> None:
    assert cause_of((work(SWEEP), work(event(1)), work(SWEEP))) == event(1)
    runs, clock = Runs(), FakeClock()
    settled: list[bool] = []
    q = queue(runs, clock)
    submit = submitter(q)
    q.start()
    try:
        submit({APP}, SWEEP, Ticket([APP], settled.append))
        submit({APP}, event(1), Ticket([APP], settled.append))
        submit({APP}, event(2), Ticket([APP], settled.append))
        submit({APP}, SWEEP, Ticket([APP], settled.append))
        drain(q, clock)
        submit({APP}, SWEEP, Ticket([APP], settled.append))
        drain(q, clock)
    finally:
        q.stop(WAIT)
    # One run for the burst, caused by the latest event; the next run is a plain sweep again.
    assert runs.causes == [("app", event(2)), ("app", SWEEP)]
    assert settled == [True] * 5


def test_a_refused_submit_fails_its_ticket_and_leaves_no_cause_behind() -> None:
    runs, clock = Runs(), FakeClock()
    q = queue(runs, clock, max_pending_keys=1)
    submit = submitter(q)
    settled: dict[str, bool] = {}

    def record(name: str, ok: bool) -> None:
        settled.setdefault(name, ok)

    q.start()
    try:
        submit({OTHER}, SWEEP, Ticket([OTHER], lambda ok: record("sweep", ok)))
        refused = Ticket([APP], lambda ok: record("event", ok))
        submit({APP}, event(1), refused)  # the queue is full: the message stays in SQS
        assert settled == {"event": False}
        drain(q, clock)
        submit({APP}, SWEEP, Ticket([APP], lambda ok: record("later", ok)))
        drain(q, clock)
    finally:
        q.stop(WAIT)
    # The later sweep's run is not blamed on the refused event (the old side-map did that).
    assert runs.causes == [("b", SWEEP), ("app", SWEEP)]
    assert settled == {"event": False, "sweep": True, "later": True}


def test_a_submit_after_stop_fails_its_ticket() -> None:
    runs, clock = Runs(), FakeClock()
    settled: list[bool] = []
    q = queue(runs, clock)
    q.start()
    q.stop(WAIT)
    submitter(q)({APP, OTHER}, event(1), Ticket([APP, OTHER], settled.append))
    assert settled == [False] and runs.causes == []


def test_a_run_without_items_is_a_sweep() -> None:
    assert cause_of(()) == SWEEP
    assert cause_of((work(Cause("replay")), work(Cause("cli")))) == Cause("replay")


def test_deferred_fixes_whose_window_opened_run_and_a_refused_one_waits_for_the_next_check() -> (
    None
):
    runs, clock = Runs(), FakeClock()
    q = queue(runs, clock, max_pending_keys=1)
    due = [APP, OTHER]  # what Safeguards.due() returns until the app is reconciled
    submit_due = due_submitter(q, lambda: list(due))
    q.start()
    try:
        with structlog.testing.capture_logs() as logs:
            submit_due()  # the queue holds one app: OTHER is refused, not raised
        assert [(e["event"], e["app"]) for e in logs] == [("work_refused", "b")]
        drain(q, clock)
        due.remove(APP)
        submit_due()
        drain(q, clock)
    finally:
        q.stop(WAIT)
    assert runs.causes == [("app", SWEEP), ("b", SWEEP)]  # token-less: runs as a sweep
    submit_due()  # after stop: refused quietly, the daemon is stopping


def test_a_run_keeps_the_inventory_current_and_backs_off_a_failed_reconcile() -> None:
    role = "arn:aws:iam::123456789012:role/app-execution"
    answers = [
        ReconcileResult(APP, "fixed", detail={"ServiceExecutionRole": role}),
        ReconcileResult(APP, "error", error="throttled", retryable=True),
        ReconcileResult(APP, "gone"),
    ]
    seen: list[Cause] = []

    def reconcile(app: AppRef, cause: Cause) -> ReconcileResult:
        seen.append(cause)
        return answers.pop(0)

    inventory = Inventory()
    run = runner(reconcile, [InventoryUpdate(inventory)], RetryBackoff(jitter=lambda: 1.0))
    assert run(APP, (work(event(1)), work(SWEEP))) is True
    assert seen == [event(1)] and len(inventory) == 1
    assert run(APP, ()) == Retry(1.0)  # the first retry waits the base second
    assert len(inventory) == 1  # a failed reconcile read nothing: the facts stay
    assert run(APP, ()) is True
    assert len(inventory) == 0 and seen[1:] == [SWEEP, SWEEP]
