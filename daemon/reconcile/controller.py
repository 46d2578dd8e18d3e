"""The controller: the daemon's work queue, what it carries, and how a reconcile's result
becomes a queue operation (acknowledge, retry after, give up), as controller-runtime splits it.

An item is why an application is owed a reconcile (the cause) and who waits for it (a
message's or a sweep's ticket).

The cause travels with its item, so a refused submit leaves no cause behind and a run reports
the cause of exactly the submits it serves: the latest event among them (it names who changed
what) wins over sweeps.

A run ends in one of three ways (controller-runtime's): done and terminal settle its tickets ok
(the message is acknowledged; a terminal failure stays a raised violation, never DLQ cycling),
retry keeps them in the queue for a later run (`RetryBackoff`), never released while AWS fails.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import structlog

from daemon.reconcile.inventory import Inventory
from daemon.reconcile.listeners import InventoryUpdate
from daemon.reconcile.result import Listener, ReconcileResult
from daemon.reconcile.workqueue import QueueClosed, QueueFull, Retry, Ticket, WorkQueue
from daemon.state import AppRef, Cause

log = structlog.get_logger(__name__)

DEFERRED_CHECK_SECONDS = 60.0  # windows are minutes long: a fix starts within a minute of opening

# Owe these apps a reconcile for this cause; the ticket settles when all of them have run.
Submit = Callable[[set[AppRef], Cause, Ticket[AppRef]], None]


@dataclass(frozen=True)
class Work:
    cause: Cause
    ticket: Ticket[AppRef]


AppQueue = WorkQueue[AppRef, Work]


def cause_of(items: Sequence[Work]) -> Cause:
    """The cause of one run serving `items`: the latest event, else the first cause; a run that
    serves no item (a token-less submit) counts as a sweep."""
    events = [item.cause for item in items if item.cause.trigger == "event"]
    if events:
        return events[-1]
    return items[0].cause if items else Cause("sweep")


def runner(
    reconcile: Callable[[AppRef, Cause], ReconcileResult],
    listeners: Sequence[Listener],
    backoff: RetryBackoff,
) -> Callable[[AppRef, tuple[Work, ...]], bool | Retry]:
    """The queue's run: reconcile the app for the cause of the items it serves, tell the
    controller's listeners (the inventory) and the queue what comes next (done / terminal:
    settle ok; retry: queued again)."""

    def run(app: AppRef, items: tuple[Work, ...]) -> bool | Retry:
        cause = cause_of(items)
        result = reconcile(app, cause)
        for listener in listeners:
            listener.reconciled(result, cause)
        return backoff.after(result)

    return run


def reconcile_queue(
    reconcile: Callable[[AppRef, Cause], ReconcileResult],
    inventory: Inventory,
    *,
    workers: int,
    debounce_seconds: float,
    max_pending_keys: int,
    max_wait_seconds: float | None = None,
) -> AppQueue:
    """The daemon's work queue: each run reconciles one app (`runner`, with per-app backoff
    between retries) and settles the tickets of the items it served."""
    run = runner(reconcile, [InventoryUpdate(inventory)], RetryBackoff())
    return WorkQueue(
        run,
        on_done=settle_ticket,
        workers=workers,
        debounce_seconds=debounce_seconds,
        max_wait_seconds=max_wait_seconds,
        max_pending_keys=max_pending_keys,
    )


def settle_ticket(app: AppRef, item: Work, ok: bool) -> None:
    """The queue's on_done: report the run's result to the ticket waiting for it."""
    item.ticket.done(app, ok)


def submitter(queue: AppQueue) -> Submit:
    """A Submit that queues one item per app; an app the queue refuses fails its ticket at once
    (the message stays in SQS and comes back) and leaves nothing queued."""

    def submit(apps: Iterable[AppRef], cause: Cause, ticket: Ticket[AppRef]) -> None:
        item = Work(cause, ticket)
        for app in apps:
            try:
                queue.submit(app, item)
            except (QueueFull, QueueClosed) as exc:
                log.warning("work_refused", app=app.name, reason=str(exc))
                ticket.done(app, False)

    return submit


def due_submitter(queue: AppQueue, due: Callable[[], Iterable[AppRef]]) -> Callable[[], None]:
    """A periodic job for fixes deferred to a maintenance window: reconcile each app whose
    window has opened (a token-less submit, coalesced with any other work for the app); an app
    the queue refuses is submitted again by the next check."""

    def submit_due() -> None:
        for app in due():
            try:
                queue.submit(app)
            except (QueueFull, QueueClosed) as exc:
                log.warning("work_refused", app=app.name, reason=str(exc))

    return submit_due


class RetryBackoff:
    """When to run an application again after a `retry` result: the result's retry_after when it
    gives one, else exponential backoff per application (base doubling up to cap), with jitter
    (a random 50-100 %) so apps that failed together do not retry together. The cap is small:
    the work queue's workers already bound the load on AWS, and a fix must land within seconds of
    AWS recovering. A done or terminal result resets the application's count."""

    def __init__(
        self,
        base_seconds: float = 1.0,
        cap_seconds: float = 8.0,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._base, self._cap, self._jitter = base_seconds, cap_seconds, jitter
        self._attempts: dict[AppRef, int] = {}
        self._lock = threading.Lock()

    def after(self, result: ReconcileResult) -> bool | Retry:
        """The work queue's verdict on one run: True (settle ok) or Retry(after)."""
        app = result.app
        if result.next != "retry":
            with self._lock:
                self._attempts.pop(app, None)
            if result.next == "terminal":
                log.warning("reconcile_given_up", app=app.name, error=result.error)
            return True
        with self._lock:
            attempt = self._attempts[app] = self._attempts.get(app, 0) + 1
        delay = result.retry_after_seconds
        if delay <= 0:
            delay = min(self._cap, self._base * 2 ** (attempt - 1)) * (0.5 + self._jitter() / 2)
        log.info("reconcile_retry_scheduled", app=app.name, attempt=attempt, seconds=delay)
        return Retry(delay)

    def attempts(self, app: AppRef) -> int:
        with self._lock:
            return self._attempts.get(app, 0)
