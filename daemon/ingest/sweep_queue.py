"""Sweeps shared through the queue (`--sweep-source queue`): no timer in each pod, no leader.

A tick (from an EventBridge Scheduler schedule, one per account and Region) is handled by
whichever replica receives it: it lists that account and Region (ListApplications only) and
sends the applications back to the same queue as work messages, ten apps each, ten messages a
SendMessageBatch. Every replica receives a share of those; each work message is acknowledged
only after the reconciles it asked for settled, else released to come back (SQS counts the
receives and moves a message that keeps failing to the DLQ). A replica killed mid-sweep holds
its messages only until their visibility timeout: then the others receive them. A replica
holding `max_held` work messages receives nothing more until some settle (`has_room`), so a
sweep spreads over the replicas instead of the first one's receive loops taking all of it.

The message format is daemon/ingest/sweep_messages.py. A malformed message, or one for an
account or Region the config does not cover, is counted, logged and acknowledged (dropped):
retrying cannot make it valid.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from daemon import errors
from daemon.ingest.sqs import Message, SqsQueue
from daemon.ingest.sweep_messages import SweepMessageError, SweepWork, Tick, parse, work_bodies
from daemon.reconcile.controller import Submit
from daemon.reconcile.pass_reads import PassReads
from daemon.reconcile.workqueue import Ticket
from daemon.state import AppRef, Cause
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)
SEND_ATTEMPTS = 3  # entries SendMessageBatch reports failed are sent again this often
MAX_HELD = 16  # work messages (10 apps each) one replica holds at most; the runtime: 2 x workers

ListPlace = Callable[[str, str], tuple[AppRef, ...]]  # (account, region) -> its applications
Covered = Callable[[str, str], bool]  # is (account, region) covered by the config?


class QueueSweeps:
    def __init__(
        self,
        sqs: SqsQueue,
        list_place: ListPlace,
        covered: Covered,
        submit: Submit,
        clock: Callable[[], float] = time.monotonic,
        max_held: int = MAX_HELD,
    ) -> None:
        self._sqs, self._list, self._covered, self._submit = sqs, list_place, covered, submit
        self._clock = clock
        self._max_held = max_held
        self._held = 0  # work messages received and not settled yet
        self._lock = threading.Lock()

    def has_room(self) -> bool:
        """May the receive loops take more messages? Not while `max_held` work messages wait
        for their reconciles: other replicas take the rest of the sweep meanwhile."""
        with self._lock:
            return self._held < self._max_held

    def handle(self, message: Message) -> bool:
        """Handle `message` if it is a sweep message (True); False leaves it to the events."""
        bound = log.bind(message_id=message.message_id)
        try:
            sweep = parse(message.body)
        except SweepMessageError as exc:
            metrics.count_sweep_message("malformed", "dropped")
            bound.warning("sweep_message_dropped", reason=exc.reason, detail=str(exc)[:300])
            self._sqs.delete(message)
            return True
        if sweep is None:
            return False
        kind: metrics.SweepMessageKind = "tick" if isinstance(sweep, Tick) else "work"
        if not self._covered(sweep.account, sweep.region):
            metrics.count_sweep_message(kind, "dropped")
            bound.warning(
                "sweep_message_dropped",
                reason="not_covered",
                account=sweep.account,
                region=sweep.region,
                fix="remove the schedule, or add the account and Region to the desired state",
            )
            self._sqs.delete(message)
        elif isinstance(sweep, Tick):
            self._fan_out(message, sweep)
        else:
            self._work(message, sweep)
        return True

    def _fan_out(self, message: Message, tick: Tick) -> None:
        bound = log.bind(message_id=message.message_id, account=tick.account, region=tick.region)
        started = self._clock()
        try:
            apps = self._list(tick.account, tick.region)
            work = SweepWork(
                tick.account, tick.region, tuple(a.name for a in apps), message.message_id
            )
            unsent = self._send(list(work_bodies(work)))
        except errors.AwsError as exc:
            unsent, apps = -1, ()
            bound.error("sweep_tick_failed", error=str(exc))
        seconds = self._clock() - started
        metrics.record_sweep(seconds, unsent == 0)
        if unsent:
            # Delivered again (the whole fan-out: a work message sent twice costs one more
            # reconcile of ten apps, never a wrong one); the DLQ after maxReceiveCount.
            metrics.count_sweep_message("tick", "retried")
            bound.warning("sweep_tick_released", unsent=unsent)
            self._sqs.release(message)
            return
        metrics.count_sweep_message("tick", "done")
        metrics.count_sweep_applications_sent(len(apps))
        bound.info("sweep_fanned_out", apps=len(apps), seconds=round(seconds, 3))
        self._sqs.delete(message)

    def _send(self, bodies: list[str]) -> int:
        """Send `bodies` (failed entries again, SEND_ATTEMPTS times); how many were not sent."""
        for _ in range(SEND_ATTEMPTS):
            bodies = self._sqs.send_bodies(bodies)
            if not bodies:
                return 0
        return len(bodies)

    def _work(self, message: Message, work: SweepWork) -> None:
        apps = {AppRef(work.account, work.region, name) for name in work.apps}
        bound = log.bind(message_id=message.message_id, account=work.account, region=work.region)
        bound.info("sweep_work_received", apps=len(apps), receive_count=message.receive_count)

        def settled(ok: bool) -> None:
            with self._lock:
                self._held -= 1
            if ok:
                bound.info("sweep_work_done", apps=sorted(work.apps))
                metrics.count_sweep_message("work", "done")
                self._sqs.delete(message)
            else:  # refused or failed: SQS delivers it again, to this replica or another
                metrics.count_sweep_message("work", "retried")
                self._sqs.release(message)

        # One PassReads per message: its apps share reads of roles and route tables.
        cause = Cause("sweep", reads=PassReads())
        with self._lock:
            self._held += 1
        self._submit(apps, cause, Ticket(apps, settled))
