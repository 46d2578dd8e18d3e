"""The event side of the daemon: SQS messages in, applications owed a reconcile out, and each
message acknowledged only when every reconcile it asked for has ended (done, or a terminal
failure that retrying cannot help). While AWS fails, work is retried and the message kept in
flight; it is never released towards the DLQ for that."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from daemon import errors
from daemon.ingest.events import Hint
from daemon.ingest.intake import Ignored, Intake
from daemon.ingest.router import Router
from daemon.ingest.senders import SenderCheck
from daemon.ingest.sqs import Message, SqsQueue, poll_forever
from daemon.ingest.sweep_queue import QueueSweeps
from daemon.reconcile.controller import Submit
from daemon.reconcile.tags import TAG_EVENTS, TagCache
from daemon.reconcile.workqueue import Ticket
from daemon.state import Cause
from daemon.telemetry import metrics
from daemon.telemetry.server import Reachability

log = structlog.get_logger(__name__)
MAX_ROUTING_BACKOFF_SECONDS = 8.0


class EventConsumer:
    def __init__(
        self,
        sqs: SqsQueue,
        intake: Intake,
        router: Router,
        submit: Submit,
        dlq_url: str = "",
        pollers: int = 1,
        tags: TagCache | None = None,
        sweeps: QueueSweeps | None = None,
        senders: SenderCheck | None = None,
    ) -> None:
        self.sqs = sqs
        # SQS's SenderId: envelopes the daemon's own role sent, and sweep work anyone else
        # sent, are refused (ingest/senders.py).
        self._senders = senders
        # Sweep messages (--sweep-source queue) share the queue: True when it took the message.
        self._sweeps = sweeps
        # Receive loops side by side: one waits on SQS while another's messages are handled,
        # so a burst arrives sooner (each keeps heartbeat, visibility and acknowledgements).
        self._pollers = pollers
        self._tags = tags  # remembered tags, dropped for an app a tag event names
        self._intake = intake
        self._router = router
        self._submit = submit
        self._dlq_url = dlq_url
        # Readiness: the queue answered the last receive or depth reading, recently.
        self.reachability = Reachability("queue", stale_seconds=60)
        self._stopping = threading.Event()
        # Acknowledgements outlive the poller: in-flight reconciles finish during the grace.
        self._deletes_done = threading.Event()
        self._deleter = threading.Thread(
            target=sqs.flush_deletes, args=(self._deletes_done,), name="sqs-deleter"
        )

    def start(self, stopping: threading.Event, beat: Callable[[], None]) -> None:
        self._stopping = stopping
        self._deleter.start()
        has_room = self._sweeps.has_room if self._sweeps is not None else lambda: True
        for n in range(self._pollers):
            threading.Thread(
                target=poll_forever,
                args=(self.sqs, self.handle, stopping, beat, self.reachability.record, has_room),
                name=f"sqs-poller-{n}",
                daemon=True,
            ).start()

    def stop(self) -> None:
        """After the work queue stopped: send the last acknowledgements."""
        self._deletes_done.set()
        if self._deleter.is_alive():
            self._deleter.join(timeout=10)

    def handle(self, message: Message) -> None:
        bound = log.bind(message_id=message.message_id)
        refused = self._senders.refusal(message) if self._senders is not None else None
        if refused is not None:
            metrics.count_event_ignored(refused)
            bound.warning("message_rejected", reason=refused, sender_id=message.sender_id)
            self.sqs.delete(message)
            return
        if self._sweeps is not None and self._sweeps.handle(message):
            return
        hint = self._intake.accept(message.body)
        if isinstance(hint, Ignored):
            bound.info("event_ignored", reason=hint.reason, detail=hint.detail)
            self.sqs.delete(message)
            return
        self._route(message, hint, 0)

    def _route(self, message: Message, hint: Hint, failures: int) -> None:
        bound = log.bind(message_id=message.message_id, event_id=hint.event_id)
        bound = bound.bind(event_name=hint.event_name, actor=hint.actor)
        try:
            apps = self._router.apps_for(hint)
        except errors.AwsError as exc:
            # AWS failing is no reason to send the message towards the DLQ: it stays in flight
            # (the heartbeat extends it) and is routed again after a short backoff.
            delay = min(MAX_ROUTING_BACKOFF_SECONDS, 0.5 * 2.0**failures)
            bound.warning("event_routing_failed", error=str(exc), retry_seconds=delay)
            timer = threading.Timer(delay, self._route_again, (message, hint, failures + 1))
            timer.daemon = True
            timer.start()
            return
        if not apps:
            metrics.count_event_ignored("no_application")
            bound.info("event_ignored", reason="no_application")
            self.sqs.delete(message)
            return
        bound.info("event_received", apps=sorted(a.name for a in apps))
        if self._tags is not None and hint.event_name in TAG_EVENTS:
            self._tags.forget(apps)  # the reconcile this event owes reads the new tags

        def settled(ok: bool) -> None:
            if ok:
                self._intake.completed(hint)  # from now on a copy of the event is a duplicate
                self.sqs.delete(message)
            else:
                self.sqs.release(message)

        self._submit(apps, Cause("event", hint.event_id, hint.actor), Ticket(apps, settled))

    def _route_again(self, message: Message, hint: Hint, failures: int) -> None:
        if self._stopping.is_set():
            self.sqs.abandon(message)  # it reappears for the next replica
        elif self.sqs.is_newest(message):  # else a newer delivery is handled on its own
            self._route(message, hint, failures)

    def extend_visibility(self) -> None:
        try:
            self.sqs.extend_visibility()
        except errors.AwsError as exc:
            log.warning("visibility_extension_failed", error=str(exc))

    def measure_queues(self) -> bool:
        """Queue and DLQ depth gauges; False when the queue cannot be reached."""
        try:
            metrics.set_queue_depth("events", self.sqs.depth())
            if not self._dlq_url:
                self._dlq_url = self.sqs.dead_letter_url()
            if self._dlq_url:
                metrics.set_queue_depth("dlq", self.sqs.depth(self._dlq_url))
        except errors.AwsError as exc:
            self.reachability.record(False, str(exc))
            return False
        self.reachability.record(True)
        return True
