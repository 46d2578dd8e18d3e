"""The daemon's coalescing work queue (client-go / kopf style).

- Coalescing: a key is pending at most once. Tokens submitted while a key waits share its next run;
  tokens submitted while it runs wait for exactly one more run (so a burst gives <= 2 runs).
- Debounce with a maximum wait (a trailing window, capped): a key becomes due `debounce_seconds`
  after its LAST submit, but never later than `max_wait_seconds` after its first pending one. A
  lone event runs after the debounce; a burst that keeps coming gives one run when it goes quiet
  (or at the cap) and at most one more for what arrived during that run, so <= 2 runs per key
  for a burst that arrives within the cap; a steady trickle cannot starve a key: a token waits
  at most max_wait + the run in progress. `max_wait_seconds` = `debounce_seconds` is the old
  fixed window.
- Per-key serialisation: a key never runs in two workers at once; different keys run in parallel.
- Bounded: at most `max_pending_keys` waiting keys and `max_tokens_per_key` tokens per waiting key;
  past either `submit` raises QueueFull and the caller leaves its message in SQS for later.
- `on_done(key, token, ok)` is called exactly once per accepted submit that carried a token: ok is
  the result of the first run that started after the submit, False if stop() abandoned it.
- Retry-after: a run that returns `Retry(after_seconds)` settles nothing: its tokens wait for a
  run due that much later (sooner if a new submit owes one sooner), so a transient failure keeps
  its waiters without holding a worker. A retry that meets stop() is settled ok=False.
- Work items travel with their key: `run(key, tokens)` gets the tokens of the submits it serves, so
  what a token carries (the daemon's cause) cannot outlive a refused submit or reach another run.
Workers wait on condition variables (no polling); the injected clock only schedules debounce.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

from daemon.errors import RemediatorError
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class QueueFull(RemediatorError):
    """The queue holds as many keys (or tokens for this key) as it may: try again later."""


class QueueClosed(RemediatorError):
    """stop() was called: the queue accepts no more work."""


@dataclass(frozen=True)
class Retry:
    """What a run returns to be run again later with the same tokens (none settled now)."""

    after_seconds: float


@dataclass(frozen=True)
class StopReport:
    """What stop() left behind. Every abandoned token was also reported with ok=False."""

    drained: bool  # every in-flight run finished within the grace period
    abandoned_tokens: int  # tokens reported not done (pending keys and runs still going)
    abandoned_keys: int  # keys that had work owed and never got a run after their submit


@dataclass
class _Entry(Generic[T]):
    """Mutable per-key bookkeeping, only touched under the queue's lock."""

    due: float = 0.0
    first: float = 0.0  # when the pending run was first owed (the cap counts from here)
    pending: bool = False  # a run is owed (waiting in the heap, or after the current run)
    running: bool = False
    waiting: list[T] = field(default_factory=list)  # tokens for the next run
    covered: list[T] = field(default_factory=list)  # tokens the current run will settle


class WorkQueue(Generic[K, T]):
    """start(), then submit() from any thread; join() waits for a drain (replay, tests);
    stop(grace) ends it for good. on_depth (default: the work_queue_depth gauge) sees every
    change of depth() and runs under the queue's lock, so it must not call the queue."""

    def __init__(
        self,
        run: Callable[[K, tuple[T, ...]], bool | Retry],
        *,
        on_done: Callable[[K, T, bool], None] | None = None,
        workers: int = 4,
        debounce_seconds: float = 1.0,
        max_wait_seconds: float | None = None,
        max_pending_keys: int = 10_000,
        max_tokens_per_key: int = 1_000,
        clock: Callable[[], float] = time.monotonic,
        on_depth: Callable[[int], None] = metrics.set_work_queue_depth,
        name: str = "workqueue",
    ) -> None:
        if workers < 1 or max_pending_keys < 1 or max_tokens_per_key < 1:
            raise ValueError("workers, max_pending_keys and max_tokens_per_key must be >= 1")
        max_wait = debounce_seconds if max_wait_seconds is None else max_wait_seconds
        if debounce_seconds < 0 or max_wait < debounce_seconds:
            raise ValueError("need 0 <= debounce_seconds <= max_wait_seconds")
        self._max_wait = max_wait
        self._run, self._on_done, self._on_depth = run, on_done, on_depth
        self._workers, self._debounce, self._clock = workers, debounce_seconds, clock
        self._max_keys, self._max_tokens, self._name = max_pending_keys, max_tokens_per_key, name
        self._lock = threading.Lock()
        # Two conditions on one lock, so a worker's wake-up is never swallowed by join()/stop().
        self._ready = threading.Condition(self._lock)  # workers: a key may be due
        self._changed = threading.Condition(self._lock)  # join/stop: a run ended, or stop
        self._entries: dict[K, _Entry[T]] = {}
        self._heap: list[tuple[float, int, K]] = []  # due, submit order, key: only idle keys
        self._seq = 0
        self._depth = 0
        self._in_flight = 0
        self._settling = 0  # runs that ended and are still calling on_done (outside the lock)
        self._closed = False
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the worker threads (daemon threads, so a stuck run cannot block exit)."""
        with self._lock:
            if self._threads or self._closed:
                raise RuntimeError("start() may be called once, before stop()")
            self._threads = [
                threading.Thread(target=self._work, name=f"{self._name}-{i}", daemon=True)
                for i in range(self._workers)
            ]
        for thread in self._threads:
            thread.start()

    def submit(self, key: K, token: T | None = None, delay_seconds: float = 0.0) -> None:
        """Owe `key` a run; `token` (if not None) is settled by that run via on_done.

        `delay_seconds` (retry-after: a transitional status, an update in progress, a backoff)
        makes the run due no sooner than that; it never postpones a run already owed sooner.
        Raises QueueFull (nothing recorded) or QueueClosed after stop().
        """
        with self._lock:
            if self._closed:
                raise QueueClosed(f"{self._name} is stopped")
            entry = self._entries.get(key)
            if entry is None or not entry.pending:
                if self._depth >= self._max_keys:
                    raise QueueFull(f"{self._name} holds {self._depth} keys")
            elif token is not None and len(entry.waiting) >= self._max_tokens:
                raise QueueFull(f"{self._name} holds {len(entry.waiting)} tokens for {key}")
            if entry is None:
                entry = self._entries[key] = _Entry()
            now = self._clock()
            if not entry.pending:
                entry.pending, entry.first = True, now
                entry.due = now + max(self._debounce, delay_seconds)
                self._set_depth(self._depth + 1)
                if not entry.running:
                    self._push(key, entry)
            elif delay_seconds <= 0:  # trailing: wait for quiet, up to the cap
                later = min(now + self._debounce, entry.first + self._max_wait)
                if later > entry.due:
                    entry.due = later
                    if not entry.running:
                        self._push(key, entry)  # the earlier heap item is skipped as stale
            if token is not None:
                entry.waiting.append(token)

    def depth(self) -> int:
        """Keys owed a run that has not started yet (the work_queue_depth gauge)."""
        with self._lock:
            return self._depth

    def in_flight(self) -> int:
        """Runs executing right now."""
        with self._lock:
            return self._in_flight

    def recheck(self) -> None:
        """Wake the workers to re-read the clock (for injected clocks that jump)."""
        with self._lock:
            self._ready.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Block until nothing is pending, running or being settled (True), or `timeout` real
        seconds pass. Settled too: a caller that joins then acts on the outcomes (deletes the
        acknowledged SQS messages, exits) must see every on_done of the last run."""
        with self._lock:
            return self._changed.wait_for(lambda: not self._entries and not self._settling, timeout)

    def stop(self, grace_seconds: float) -> StopReport:
        """Refuse new submits, start no new run, wait up to `grace_seconds` (real time) for
        in-flight runs, then report every unsettled token with ok=False. Idempotent."""
        with self._lock:
            self._closed = True
            self._ready.notify_all()
            drained = self._changed.wait_for(lambda: self._in_flight == 0, max(grace_seconds, 0.0))
            abandoned: list[tuple[K, T]] = []
            keys = 0
            for key, entry in self._entries.items():
                keys += entry.pending
                abandoned += [(key, token) for token in entry.waiting + entry.covered]
                entry.waiting, entry.covered, entry.pending = [], [], False
            self._entries = {k: e for k, e in self._entries.items() if e.running}
            self._heap.clear()
            self._set_depth(0)
            self._changed.notify_all()
        if drained:  # workers exit as soon as they see the flag; a stuck one is a daemon thread
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join(max(grace_seconds, 0.0))
        self._settle(abandoned, ok=False)
        if abandoned or not drained:
            log.warning(
                "work_abandoned",
                queue=self._name,
                tokens=len(abandoned),
                keys=keys,
                drained=drained,
            )
        return StopReport(drained=drained, abandoned_tokens=len(abandoned), abandoned_keys=keys)

    # -- internals (called with the lock held unless said otherwise) --

    def _set_depth(self, depth: int) -> None:
        if depth != self._depth:
            self._depth = depth
            self._on_depth(depth)  # under the lock so gauge updates cannot reorder

    def _push(self, key: K, entry: _Entry[T]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (entry.due, self._seq, key))
        self._ready.notify()

    def _next_due(self) -> K | None:
        """Wait for a due key; None once stopped."""
        while not self._closed:
            if self._heap:
                wait = self._heap[0][0] - self._clock()
                if wait <= 0:
                    due, _, key = heapq.heappop(self._heap)
                    entry = self._entries.get(key)
                    if entry is None or entry.running or not entry.pending or entry.due != due:
                        continue  # stale: the key's window was extended, or it already ran
                    if self._heap and self._heap[0][0] <= self._clock():
                        self._ready.notify()  # another key is due too: hand it to a peer
                    return key
                self._ready.wait(wait)
            else:
                self._ready.wait()
        return None

    def _work(self) -> None:
        while True:
            with self._lock:
                key = self._next_due()
                if key is None:
                    return
                entry = self._entries[key]
                entry.running, entry.pending = True, False
                entry.covered, entry.waiting = entry.waiting, []
                tokens = tuple(entry.covered)
                self._in_flight += 1
                self._set_depth(self._depth - 1)
            ok = self._call(key, tokens)  # lock released: the run may take minutes
            with self._lock:
                self._in_flight -= 1
                entry.running = False
                if isinstance(ok, Retry) and not self._closed:
                    self._owe_retry(entry, ok.after_seconds)
                settled = [(key, token) for token in entry.covered]
                entry.covered = []
                if not entry.pending:
                    del self._entries[key]
                elif not self._closed:  # submits came in during the run: one more run
                    self._push(key, entry)
                self._settling += 1
                self._changed.notify_all()
            try:
                self._settle(settled, ok=ok is True)
            finally:
                with self._lock:
                    self._settling -= 1
                    self._changed.notify_all()

    def _owe_retry(self, entry: _Entry[T], after_seconds: float) -> None:
        """The run's tokens wait for a later run (before any submitted meanwhile)."""
        entry.waiting, entry.covered = entry.covered + entry.waiting, []
        due = self._clock() + max(after_seconds, 0.0)
        if entry.pending:
            entry.due = min(entry.due, due)
        else:
            entry.pending, entry.due, entry.first = True, due, self._clock()
            self._set_depth(self._depth + 1)

    def _call(self, key: K, tokens: tuple[T, ...]) -> bool | Retry:
        """Run outside the lock; an exception is a failure, logged, never fatal to the worker."""
        try:
            result = self._run(key, tokens)
            return result if isinstance(result, Retry) else bool(result)
        except Exception:
            log.exception("work_failed", queue=self._name, key=str(key))
            return False

    def _settle(self, settled: Iterable[tuple[K, T]], *, ok: bool) -> None:
        """Call on_done outside the lock (it may submit again)."""
        if self._on_done is None:
            return
        for key, token in settled:
            try:
                self._on_done(key, token, ok)
            except Exception:
                log.exception("work_callback_failed", queue=self._name, key=str(key))


class Ticket(Generic[K]):
    """One SQS message's share of the work: settles once, when every key it names has reported.

    on_settled(True) only if every key's run succeeded (delete the message); False otherwise
    (leave it to come back). Use it in the token: `WorkQueue[AppRef, Ticket[AppRef]](run,
    on_done=lambda key, ticket, ok: ticket.done(key, ok))`, submit it once per key, and call
    `ticket.done(key, False)` for a key whose submit raised.
    """

    def __init__(self, keys: Iterable[K], on_settled: Callable[[bool], None]) -> None:
        self._outstanding = set(keys)
        if not self._outstanding:
            raise ValueError("a ticket needs at least one key")
        self._on_settled = on_settled
        self._ok = True
        self._lock = threading.Lock()

    @property
    def settled(self) -> bool:
        with self._lock:
            return not self._outstanding

    def done(self, key: K, ok: bool) -> None:
        """Record `key`'s result; a key it does not (or no longer) wait for is ignored."""
        with self._lock:
            if key not in self._outstanding:
                return
            self._outstanding.discard(key)
            self._ok = self._ok and ok
            if self._outstanding:
                return
            result = self._ok
        self._on_settled(result)
