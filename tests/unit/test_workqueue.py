"""The coalescing work queue, driven deterministically.

Runs block on events the test controls and the debounce runs on a fake clock, so every assertion
is about order and counts, never about speed. WAIT only bounds how long a broken queue can hang.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from daemon.reconcile.workqueue import QueueClosed, QueueFull, StopReport, Ticket, WorkQueue
from tests.clock import FakeClock

WAIT = 10.0  # seconds; only reached when the queue is broken


class Runs:
    """A run function whose calls the test sees start, and releases one by one."""

    def __init__(self, clock: Callable[[], float] = lambda: 0.0, block: bool = True) -> None:
        self.clock = clock
        self.block = block
        self.started: queue.Queue[str] = queue.Queue()
        self.log: list[tuple[str, float]] = []  # (key, clock at start)
        self.tokens: list[tuple[str, tuple[object, ...]]] = []  # (key, tokens the run serves)
        self.results: dict[str, list[bool | Exception]] = {}
        self.overlaps: list[str] = []  # keys that started while already running
        self._active: set[str] = set()
        self._gates: dict[str, threading.Semaphore] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, tokens: tuple[object, ...] = ()) -> bool:
        with self._lock:
            self.tokens.append((key, tokens))
            if key in self._active:
                self.overlaps.append(key)
            self._active.add(key)
            self.log.append((key, self.clock()))
            gate = self._gates.setdefault(key, threading.Semaphore(0))
            planned = self.results.get(key)
            result = planned.pop(0) if planned else True
        self.started.put(key)
        try:
            if self.block:
                assert gate.acquire(timeout=WAIT), f"run of {key} never released"
        finally:
            with self._lock:
                self._active.discard(key)
        if isinstance(result, Exception):
            raise result
        return result

    def release(self, key: str) -> None:
        with self._lock:
            self._gates.setdefault(key, threading.Semaphore(0)).release()

    def wait_started(self, key: str) -> None:
        assert self.started.get(timeout=WAIT) == key

    def assert_none_started(self) -> None:
        """No run started since the last wait_started, read now rather than by waiting a while
        of real time; a run that started too early also shows in `log` with the fake time it
        started at, which the tests assert."""
        assert self.started.empty()

    def keys(self) -> list[str]:
        return [key for key, _ in self.log]


class Done:
    """Records on_done calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool]] = []
        self._lock = threading.Lock()

    def __call__(self, key: str, token: str, ok: bool) -> None:
        with self._lock:
            self.calls.append((key, token, ok))

    def of(self, token: str) -> list[bool]:
        return [ok for _, t, ok in self.calls if t == token]


@contextmanager
def started(q: WorkQueue[str, str]) -> Iterator[WorkQueue[str, str]]:
    q.start()
    try:
        yield q
    finally:
        q.stop(grace_seconds=WAIT)


def make(
    runs: Runs,
    done: Done,
    clock: FakeClock | None = None,
    *,
    debounce_seconds: float,
    max_wait_seconds: float | None = None,
    workers: int = 4,
    max_pending_keys: int = 100,
    max_tokens_per_key: int = 1000,
) -> WorkQueue[str, str]:
    return WorkQueue(
        runs,
        on_done=done,
        clock=clock or FakeClock(),
        on_depth=lambda _: None,
        debounce_seconds=debounce_seconds,
        max_wait_seconds=max_wait_seconds,
        workers=workers,
        max_pending_keys=max_pending_keys,
        max_tokens_per_key=max_tokens_per_key,
    )


def test_a_burst_of_500_submits_within_the_debounce_gives_one_run() -> None:
    clock, runs, done = FakeClock(), Runs(block=False), Done()
    with started(make(runs, done, clock, debounce_seconds=1.0, workers=4)) as q:
        for i in range(500):
            q.submit("app", f"t{i}")
        assert q.depth() == 1
        clock.now = 1.0
        q.recheck()
        assert q.join(WAIT)
    assert runs.keys() == ["app"]
    assert sorted(done.calls) == sorted(("app", f"t{i}", True) for i in range(500))


def test_a_delayed_submit_runs_after_its_delay_but_never_postpones_an_earlier_run() -> None:
    clock, runs, done = FakeClock(), Runs(block=False), Done()
    with started(make(runs, done, clock, debounce_seconds=1.0)) as q:
        q.submit("later", "t1", delay_seconds=60.0)
        q.submit("soon", "t2")
        q.submit("soon", "t3", delay_seconds=60.0)  # already owed at 1 s: stays at 1 s
        clock.now = 1.0
        q.recheck()
        assert runs.started.get(timeout=WAIT) == "soon"
        assert q.depth() == 1
        clock.now = 59.9
        q.recheck()
        assert q.depth() == 1  # "later" is not due yet
        clock.now = 60.0
        q.recheck()
        assert q.join(WAIT)
    assert runs.keys() == ["soon", "later"]
    assert sorted(done.calls) == [("later", "t1", True), ("soon", "t2", True), ("soon", "t3", True)]


def test_a_burst_during_a_run_gives_exactly_one_more_run_that_settles_it() -> None:
    runs, done = Runs(), Done()
    with started(make(runs, done, debounce_seconds=0.0, workers=4)) as q:
        q.submit("app", "first")
        runs.wait_started("app")
        for i in range(500):
            q.submit("app", f"late{i}")
        assert (q.in_flight(), q.depth()) == (1, 1)
        runs.release("app")
        runs.wait_started("app")  # the one more run
        assert done.calls == [("app", "first", True)]  # late tokens wait for their run
        runs.release("app")
        assert q.join(WAIT)
    assert runs.keys() == ["app", "app"]
    assert len(done.calls) == 501 and all(ok for _, _, ok in done.calls)


def test_concurrent_bursts_over_20_apps_give_at_most_two_runs_each() -> None:
    burst_over = threading.Event()

    def run(key: str, tokens: tuple[str, ...] = ()) -> bool:
        assert burst_over.wait(WAIT)  # every run starts before the burst ends, or after
        return True

    counted: Counter[str] = Counter()
    lock = threading.Lock()

    def counting_run(key: str, tokens: tuple[str, ...]) -> bool:
        with lock:
            counted[key] += 1
        return run(key)

    done = Done()
    q: WorkQueue[str, str] = WorkQueue(
        counting_run, on_done=done, workers=4, debounce_seconds=0.0, on_depth=lambda _: None
    )

    def submitter(n: int) -> None:
        for i in range(200):
            q.submit(f"app{(i + n) % 20}", f"{n}-{i}")

    with started(q):
        threads = [threading.Thread(target=submitter, args=(n,)) for n in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        burst_over.set()
        assert q.join(WAIT)
    assert set(counted) == {f"app{i}" for i in range(20)}
    assert max(counted.values()) <= 2
    assert len(done.calls) == 1000 and all(ok for _, _, ok in done.calls)


def test_a_key_never_runs_twice_at_once_while_other_keys_proceed() -> None:
    runs, done = Runs(), Done()
    with started(make(runs, done, debounce_seconds=0.0, workers=4)) as q:
        q.submit("a", "a1")
        runs.wait_started("a")
        q.submit("a", "a2")  # due first, but "a" is busy
        q.submit("b", "b1")
        runs.wait_started("b")  # a free worker skipped the busy key
        runs.release("b")
        runs.release("a")
        runs.wait_started("a")
        runs.release("a")
        assert q.join(WAIT)
    assert runs.keys() == ["a", "b", "a"] and runs.overlaps == []
    assert done.of("a2") == [True] and done.of("b1") == [True]


def test_different_keys_run_in_parallel_up_to_the_worker_count() -> None:
    together = threading.Barrier(4, timeout=WAIT)  # breaks unless 4 runs overlap

    def run(key: str, tokens: tuple[str, ...]) -> bool:
        together.wait()
        return True

    done = Done()
    q: WorkQueue[str, str] = WorkQueue(
        run, on_done=done, workers=4, debounce_seconds=0.0, on_depth=lambda _: None
    )
    with started(q):
        for key in "abcd":
            q.submit(key, key)
        assert q.join(WAIT)
    assert sorted(done.calls) == [(k, k, True) for k in "abcd"]


def test_failures_reach_the_tokens_of_that_run_only_and_workers_survive() -> None:
    runs, done = Runs(), Done()
    runs.results["app"] = [False, RuntimeError("boom"), True]
    with capture_logs() as logs, started(make(runs, done, debounce_seconds=0.0, workers=1)) as q:
        q.submit("app", "t1")
        runs.wait_started("app")
        q.submit("app", "t2")
        runs.release("app")
        runs.wait_started("app")
        q.submit("app", "t3")
        runs.release("app")
        runs.wait_started("app")  # the only worker survived the exception
        runs.release("app")
        assert q.join(WAIT)
    assert (done.of("t1"), done.of("t2"), done.of("t3")) == ([False], [False], [True])
    failed = [entry for entry in logs if entry["event"] == "work_failed"]
    assert len(failed) == 1 and failed[0]["key"] == "app" and failed[0]["log_level"] == "error"


def test_a_failing_callback_is_logged_and_does_not_stop_the_queue() -> None:
    runs = Runs(block=False)
    seen: list[str] = []

    def on_done(key: str, token: str, ok: bool) -> None:
        seen.append(token)
        raise ValueError("callback bug")

    q: WorkQueue[str, str] = WorkQueue(
        runs, on_done=on_done, debounce_seconds=0.0, on_depth=lambda _: None
    )
    with capture_logs() as logs, started(q):
        q.submit("a", "x")
        assert q.join(WAIT)
        q.submit("a", "y")
        assert q.join(WAIT)
    assert seen == ["x", "y"]
    assert [e["event"] for e in logs].count("work_callback_failed") == 2


def test_capacity_is_bounded_in_keys_and_tokens_and_frees_up_after_runs() -> None:
    clock, runs, done = FakeClock(), Runs(block=False), Done()
    q = make(runs, done, clock, debounce_seconds=1.0, max_pending_keys=2, max_tokens_per_key=2)
    with started(q):
        q.submit("a", "a1")
        q.submit("b", "b1")
        with pytest.raises(QueueFull):
            q.submit("c", "c1")
        q.submit("a", "a2")  # a waiting key takes more tokens, up to the cap
        with pytest.raises(QueueFull):
            q.submit("a", "a3")
        q.submit("a")  # a token-less submit (a sweep) needs no room
        assert q.depth() == 2
        clock.now = 1.0
        q.recheck()
        assert q.join(WAIT)
        q.submit("c", "c1")  # room again; never due on the fake clock, so stop abandons it
    assert sorted(done.calls) == [
        ("a", "a1", True),
        ("a", "a2", True),
        ("b", "b1", True),
        ("c", "c1", False),
    ]
    assert done.of("a3") == []  # refused submits are never reported


def test_each_run_gets_the_tokens_it_serves_and_a_refused_token_reaches_no_run() -> None:
    clock, runs, done = FakeClock(), Runs(), Done()
    q = make(runs, done, clock, debounce_seconds=1.0, max_pending_keys=1, max_tokens_per_key=2)
    with started(q):
        q.submit("a", "a1")
        q.submit("a", "a2")
        with pytest.raises(QueueFull):
            q.submit("a", "a3")  # past the token cap
        with pytest.raises(QueueFull):
            q.submit("b", "b1")  # past the key cap
        clock.now = 1.0
        q.recheck()
        runs.wait_started("a")
        q.submit("a", "a4")  # during the run: it belongs to the next run
        runs.release("a")
        clock.now = 2.0
        q.recheck()
        runs.wait_started("a")
        runs.release("a")
        assert q.join(WAIT)
        q.submit("b")  # a token-less submit: its run serves no token
        clock.now = 3.0
        q.recheck()
        runs.wait_started("b")
        runs.release("b")
        assert q.join(WAIT)
    assert runs.tokens == [("a", ("a1", "a2")), ("a", ("a4",)), ("b", ())]


def test_the_depth_callback_follows_waiting_keys() -> None:
    runs, depths = Runs(), list[int]()
    q: WorkQueue[str, str] = WorkQueue(runs, debounce_seconds=0.0, on_depth=depths.append)
    with started(q):
        q.submit("a")
        runs.wait_started("a")
        q.submit("a")  # waits behind its own run: counted
        assert (q.depth(), q.in_flight()) == (1, 1)
        runs.release("a")
        runs.wait_started("a")
        runs.release("a")
        assert q.join(WAIT)
    assert depths == [1, 0, 1, 0]


def test_debounce_counts_from_the_first_submit_so_a_trickle_cannot_starve_a_key() -> None:
    clock = FakeClock()
    runs, done = Runs(clock=clock), Done()
    with started(make(runs, done, clock, debounce_seconds=1.0)) as q:
        for i, now in enumerate((0.0, 0.5, 0.9, 0.99)):
            clock.now = now
            q.submit("app", f"t{i}")
            q.recheck()
        runs.assert_none_started()
        clock.now = 1.0  # a sliding window would now wait until 1.99
        q.recheck()
        runs.wait_started("app")
        clock.now = 5.0
        q.submit("app", "during")  # due at 6.0, and after the run in progress
        clock.now = 5.5
        runs.release("app")
        q.recheck()
        runs.assert_none_started()
        clock.now = 6.0
        q.recheck()
        runs.wait_started("app")
        runs.release("app")
        assert q.join(WAIT)
    assert runs.log == [("app", 1.0), ("app", 6.0)]
    assert [t for _, t, ok in done.calls if ok] == ["t0", "t1", "t2", "t3", "during"]


def _submit_at(q: WorkQueue[str, str], clock: FakeClock, times: list[float]) -> None:
    for i, now in enumerate(times):
        clock.now = now
        q.submit("app", f"t{i}")
        q.recheck()


def _drain_in_order(q: WorkQueue[str, str], runs: Runs, count: int) -> list[str]:
    order = []
    for _ in range(count):
        key = runs.started.get(timeout=WAIT)
        order.append(key)
        runs.release(key)
    assert q.join(WAIT)
    return order


def test_a_trailing_debounce_waits_for_quiet_so_a_long_burst_gives_one_run() -> None:
    """One worker: the key due first runs first. A probe due at 20.5 s runs before the burst's
    app, due 1 s after its last event (21 s), not 1 s after its first."""
    clock = FakeClock()
    runs, done = Runs(clock=clock), Done()
    q = make(runs, done, clock, debounce_seconds=1.0, max_wait_seconds=30.0, workers=1)
    with started(q):
        _submit_at(q, clock, [i * 0.5 for i in range(40)])  # 0 .. 19.5 s, every 0.5 s
        q.submit("probe", "p")  # at 19.5: due at 20.5
        _submit_at(q, clock, [20.0])
        clock.now = 21.0
        q.recheck()
        assert _drain_in_order(q, runs, 2) == ["probe", "app"]
    assert runs.log == [("probe", 21.0), ("app", 21.0)]
    assert len([t for _, t, ok in done.calls if ok]) == 42


def test_the_maximum_wait_caps_the_trailing_window_and_a_lone_event_runs_after_the_debounce() -> (
    None
):
    clock = FakeClock()
    runs, done = Runs(clock=clock), Done()
    q = make(runs, done, clock, debounce_seconds=1.0, max_wait_seconds=5.0, workers=1)
    with started(q):
        _submit_at(q, clock, [0.0, 2.0, 4.0])
        q.submit("probe", "p")  # at 4.0: due at 5.0, after the app's cap (submitted first)
        _submit_at(q, clock, [4.5, 4.9])  # would slide the app to 5.9: capped at 5.0
        clock.now = 5.0
        q.recheck()
        assert _drain_in_order(q, runs, 2) == ["app", "probe"]
        _submit_at(q, clock, [100.0])  # alone: after the debounce
        clock.now = 100.99
        q.recheck()
        runs.assert_none_started()
        clock.now = 101.0
        q.recheck()
        assert _drain_in_order(q, runs, 1) == ["app"]
    assert runs.log[-1] == ("app", 101.0)


def test_max_wait_below_the_debounce_is_refused() -> None:
    with pytest.raises(ValueError):
        WorkQueue(lambda key, tokens: True, debounce_seconds=2.0, max_wait_seconds=1.0)


def test_stop_finishes_in_flight_work_and_reports_pending_tokens_not_done() -> None:
    clock, runs, done = FakeClock(), Runs(), Done()
    q = make(runs, done, clock, debounce_seconds=1.0, workers=2)
    q.start()
    q.submit("a", "a1")
    clock.now = 1.0
    q.recheck()
    runs.wait_started("a")
    q.submit("a", "a2")  # owed a run after the current one
    q.submit("b", "b1")  # not due yet
    reports: list[StopReport] = []
    stopping = threading.Thread(target=lambda: reports.append(q.stop(grace_seconds=WAIT)))
    stopping.start()
    with pytest.raises(QueueClosed):
        while True:  # stop() closes before it waits for the run; then submits are refused
            q.submit("b")  # no-op while open: "b" is already waiting, no token
            q.join(0.01)
    runs.release("a")
    stopping.join(WAIT)
    clock.now = 100.0
    q.recheck()
    runs.assert_none_started()  # nothing runs after stop
    (report,) = reports
    assert report == StopReport(drained=True, abandoned_tokens=2, abandoned_keys=2)
    assert sorted(done.calls) == [("a", "a1", True), ("a", "a2", False), ("b", "b1", False)]
    assert q.depth() == 0 and q.in_flight() == 0 and runs.keys() == ["a"]


def test_stop_abandons_a_stuck_run_after_the_grace_and_reports_its_tokens_once() -> None:
    runs, done = Runs(), Done()
    q = make(runs, done, debounce_seconds=0.0)
    q.start()
    q.submit("a", "a1")
    runs.wait_started("a")
    with capture_logs() as logs:
        report = q.stop(grace_seconds=0.05)
    assert (report.drained, report.abandoned_tokens, report.abandoned_keys) == (False, 1, 0)
    assert done.calls == [("a", "a1", False)]
    assert any(e["event"] == "work_abandoned" for e in logs)
    runs.release("a")  # the stuck run ends late: no second report
    assert q.join(WAIT)
    assert done.calls == [("a", "a1", False)] and q.in_flight() == 0
    assert q.stop(grace_seconds=0.0).abandoned_tokens == 0  # idempotent


def test_construction_and_lifecycle_errors_are_clear() -> None:
    with pytest.raises(ValueError):
        WorkQueue(lambda key, tokens: True, workers=0)
    with pytest.raises(ValueError):
        WorkQueue(lambda key, tokens: True, debounce_seconds=-1)
    q: WorkQueue[str, str] = WorkQueue(lambda key, tokens: True, on_depth=lambda _: None)
    q.start()
    with pytest.raises(RuntimeError):
        q.start()
    q.stop(grace_seconds=WAIT)
    with pytest.raises(QueueClosed):
        q.submit("a")


def test_a_ticket_settles_once_when_every_key_reported() -> None:
    results: list[bool] = []
    ticket = Ticket(["a", "b"], results.append)
    ticket.done("a", True)
    assert results == [] and not ticket.settled
    ticket.done("zzz", False)  # not one of its keys: ignored
    ticket.done("b", True)
    ticket.done("b", False)  # already reported: ignored
    assert results == [True] and ticket.settled

    failed: list[bool] = []
    ticket = Ticket(["a", "b"], failed.append)
    ticket.done("b", False)
    ticket.done("a", True)
    assert failed == [False]
    with pytest.raises(ValueError):
        Ticket([], failed.append)


def test_tickets_through_the_queue_settle_per_message() -> None:
    runs = Runs(block=False)
    runs.results["b"] = [False]
    settled: dict[str, bool] = {}

    def message(name: str, keys: list[str]) -> Ticket[str]:
        return Ticket(keys, lambda ok: settled.__setitem__(name, ok))

    q: WorkQueue[str, Ticket[str]] = WorkQueue(
        runs,
        on_done=lambda key, ticket, ok: ticket.done(key, ok),
        debounce_seconds=0.0,
        on_depth=lambda _: None,
    )
    q.start()
    for name, keys in {"m1": ["a", "c"], "m2": ["a", "b"]}.items():
        ticket = message(name, keys)
        for key in keys:
            q.submit(key, ticket)
    assert q.join(WAIT)
    q.stop(grace_seconds=WAIT)
    assert settled == {"m1": True, "m2": False}


@settings(max_examples=30, deadline=None)
@given(
    plan=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), min_size=1, max_size=60),
    outcomes=st.lists(st.booleans(), max_size=60),
    workers=st.integers(1, 4),
)
def test_every_token_is_settled_once_by_the_first_run_that_started_after_its_submit(
    plan: list[tuple[int, int]], outcomes: list[bool], workers: int
) -> None:
    """Three threads submit while runs end with random results; a global sequence orders it."""
    lock = threading.Lock()
    counter = itertools.count()
    runs: dict[str, list[tuple[int, bool]]] = {}  # key -> (start seq, result)
    submits: dict[str, tuple[str, int, int]] = {}  # token -> key, seq before, seq after submit
    settled: dict[str, list[tuple[int, bool]]] = {}  # token -> (covering start seq, ok)
    active: set[str] = set()
    overlaps: list[str] = []
    worker_local = threading.local()
    results = iter(outcomes)

    def run(key: str, tokens: tuple[str, ...]) -> bool:
        with lock:
            start, ok = next(counter), next(results, True)
            overlaps.extend([key] if key in active else [])
            active.add(key)
            runs.setdefault(key, []).append((start, ok))
        time.sleep(0)  # let submitters interleave
        with lock:
            active.discard(key)
        worker_local.last = (key, start)
        return ok

    def on_done(key: str, token: str, ok: bool) -> None:
        run_key, start = worker_local.last  # settled by the worker that ran it, right after
        assert run_key == key
        with lock:
            settled.setdefault(token, []).append((start, ok))

    q: WorkQueue[str, str] = WorkQueue(
        run, on_done=on_done, workers=workers, debounce_seconds=0.0, on_depth=lambda _: None
    )
    go = threading.Barrier(3, timeout=WAIT)

    def submitter(me: int) -> None:
        go.wait()
        for i, (who, k) in enumerate(plan):
            if who == me:
                key, token = f"k{k}", f"t{i}"
                with lock:
                    before = next(counter)
                q.submit(key, token)
                with lock:
                    submits[token] = (key, before, next(counter))

    with started(q):
        threads = [threading.Thread(target=submitter, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert q.join(WAIT)

    assert overlaps == []
    assert set(settled) == set(submits)
    for token, (key, before, after) in submits.items():
        ((start, ok),) = settled[token]  # exactly once
        assert start > before and (start, ok) in runs[key]
        assert not [s for s, _ in runs[key] if after < s < start], "an earlier run skipped it"
    for key, key_runs in runs.items():
        assert len(key_runs) <= sum(1 for k, _, _ in submits.values() if k == key)


def test_join_returns_only_after_the_last_runs_on_done_has_finished() -> None:
    """A caller that joins and then acts on the outcomes (flushes SQS deletes, exits) must see
    every on_done: the run has ended but its tokens are still being settled."""
    entered, leave, seen = threading.Event(), threading.Event(), []

    def on_done(key: str, token: str, ok: bool) -> None:
        entered.set()
        assert leave.wait(WAIT)
        seen.append(token)

    q: WorkQueue[str, str] = WorkQueue(
        Runs(block=False), on_done=on_done, debounce_seconds=0.0, on_depth=lambda _: None
    )
    with started(q):
        q.submit("a", "x")
        assert entered.wait(WAIT)
        assert not q.join(0.05)  # the run ended, its on_done has not: not drained yet
        leave.set()
        assert q.join(WAIT)
        assert seen == ["x"]
