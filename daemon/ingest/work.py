"""What the daemon's work queue carries: why an application is owed a reconcile (the cause) and
who waits for it (a message's or a sweep's ticket), as one item.

The cause travels with its item, so a refused submit leaves no cause behind and a run reports
the cause of exactly the submits it serves: the latest event among them (it names who changed
what) wins over sweeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import structlog

from daemon.reconcile.workqueue import QueueClosed, QueueFull, Ticket, WorkQueue
from daemon.state import AppRef, Cause

log = structlog.get_logger(__name__)

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


def settle(app: AppRef, item: Work, ok: bool) -> None:
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
