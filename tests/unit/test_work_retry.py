"""Retry-after in the work queue and the daemon's three outcomes (issue 13 item 4, issue 19).

A run that returns Retry settles nothing: the same tokens wait, without a worker, for a run due
that much later on the injected clock; done and terminal settle them ok; a retry that meets
stop() is settled not ok (the message is released for another replica).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from daemon.reconcile.controller import RetryBackoff
from daemon.reconcile.result import ReconcileResult
from daemon.reconcile.workqueue import Retry, WorkQueue
from daemon.state import AppRef
from tests.clock import FakeClock

WAIT = 10.0  # seconds; only reached when the queue is broken
APP = AppRef("123456789012", "eu-west-1", "app")


class Script:
    """A run function: each key answers its planned results in order (then True); every start
    is recorded with the fake clock's time and the tokens served."""

    def __init__(
        self, clock: FakeClock, plans: dict[str, list[bool | Retry]], gate: bool = False
    ) -> None:
        self.clock, self.plans = clock, plans
        self.gate = threading.Event()  # with `gate`, each run waits for it
        if not gate:
            self.gate.set()
        self.starts: list[tuple[str, float, tuple[str, ...]]] = []
        self.lock = threading.Lock()

    def __call__(self, key: str, tokens: tuple[str, ...]) -> bool | Retry:
        with self.lock:
            self.starts.append((key, self.clock(), tokens))
            plan = self.plans.get(key, [])
            answer = plan.pop(0) if plan else True
        assert self.gate.wait(WAIT)
        return answer


class Settled:
    def __init__(self) -> None:
        self.results: list[tuple[str, str, bool]] = []
        self.changed = threading.Condition()

    def __call__(self, key: str, token: str, ok: bool) -> None:
        with self.changed:
            self.results.append((key, token, ok))
            self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.results) >= count, WAIT)


def make_queue(run: Script, settled: Settled, clock: FakeClock) -> WorkQueue[str, str]:
    return WorkQueue(
        run, on_done=settled, workers=1, debounce_seconds=0, clock=clock, on_depth=lambda _: None
    )


def advance(q: WorkQueue[str, str], clock: FakeClock, seconds: float) -> None:
    clock.now += seconds
    q.recheck()


def test_a_retry_keeps_its_tokens_unsettled_until_a_later_run_is_done() -> None:
    clock, settled = FakeClock(), Settled()
    run = Script(clock, {"a": [Retry(5.0), Retry(5.0)]})
    q = make_queue(run, settled, clock)
    q.start()
    try:
        q.submit("a", "message-1")
        wait(lambda: len(run.starts) == 1)
        assert settled.results == [] and q.depth() == 1  # owed again, holding no worker
        # At +4.9 s key "b" (due at once) runs; "a" (due at +5) must not run before it.
        advance(q, clock, 4.9)
        q.submit("b", "other")
        settled.wait_for(1)
        assert [key for key, _, _ in run.starts] == ["a", "b"]
        q.submit("a", "message-2")  # arrives while "a" waits: served by the same retry
        advance(q, clock, 0.1)
        wait(lambda: len(run.starts) == 3)
        advance(q, clock, 5.0)
        settled.wait_for(3)
    finally:
        q.stop(0)
    assert [(key, at) for key, at, _ in run.starts] == [
        ("a", 0.0),
        ("b", 4.9),
        ("a", 5.0),
        ("a", 10.0),
    ]
    assert run.starts[-1][2] == ("message-1", "message-2")  # the same tokens, nothing dropped
    assert sorted(settled.results) == [
        ("a", "message-1", True),
        ("a", "message-2", True),
        ("b", "other", True),
    ]


def test_a_submit_owed_sooner_is_not_postponed_by_a_retry() -> None:
    clock, settled = FakeClock(), Settled()
    run = Script(clock, {"a": [Retry(60.0)]}, gate=True)
    q = make_queue(run, settled, clock)
    q.start()
    try:
        q.submit("a", "first")
        wait(lambda: len(run.starts) == 1)
        q.submit("a", "second")  # during the run: owed at once
        run.gate.set()
        settled.wait_for(2)
    finally:
        q.stop(0)
    assert [at for _, at, _ in run.starts] == [0.0, 0.0]
    assert run.starts[1][2] == ("first", "second")


def test_a_retry_that_meets_stop_is_settled_not_done() -> None:
    clock, settled = FakeClock(), Settled()
    run = Script(clock, {"a": [Retry(30.0)]})
    q = make_queue(run, settled, clock)
    q.start()
    q.submit("a", "message")
    wait(lambda: len(run.starts) == 1)
    report = q.stop(WAIT)
    assert report.abandoned_tokens == 1
    assert settled.results == [("a", "message", False)]


def result(next_: str, retry_after: float = 0.0) -> ReconcileResult:
    if next_ == "done":
        return ReconcileResult(APP, "fixed")
    return ReconcileResult(
        APP, "error", error="boom", retryable=next_ == "retry", retry_after_seconds=retry_after
    )


def test_backoff_doubles_per_app_with_jitter_up_to_the_cap_and_resets_when_done() -> None:
    draws = iter([1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    backoff = RetryBackoff(base_seconds=1.0, cap_seconds=8.0, jitter=lambda: next(draws))
    delays = [backoff.after(result("retry")) for _ in range(5)]
    assert delays == [Retry(1.0), Retry(2.0), Retry(2.0), Retry(8.0), Retry(8.0)]
    assert backoff.after(result("retry", retry_after=30.0)) == Retry(30.0)  # the result's own
    assert backoff.attempts(APP) == 6
    assert backoff.after(result("done")) is True
    assert backoff.attempts(APP) == 0


def test_a_terminal_result_settles_ok_and_is_logged() -> None:
    backoff = RetryBackoff()
    backoff.after(result("retry"))
    with capture_logs() as logs:
        assert backoff.after(result("terminal")) is True
    assert backoff.attempts(APP) == 0
    assert [(r["event"], r["error"]) for r in logs] == [("reconcile_given_up", "boom")]


@pytest.mark.parametrize("draw", [0.0, 0.5, 1.0])
def test_jitter_keeps_the_delay_between_half_and_all_of_the_step(draw: float) -> None:
    backoff = RetryBackoff(base_seconds=2.0, cap_seconds=8.0, jitter=lambda: draw)
    delay = backoff.after(result("retry"))
    assert isinstance(delay, Retry) and 1.0 <= delay.after_seconds <= 2.0


def wait(condition: Callable[[], bool]) -> None:
    event = threading.Event()
    for _ in range(int(WAIT / 0.01)):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition never held")
