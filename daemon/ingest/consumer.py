"""The event side of the daemon: SQS messages in, applications owed a reconcile out, and each
message acknowledged only when every reconcile it asked for has ended well."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from daemon import errors
from daemon.ingest.intake import Ignored, Intake
from daemon.ingest.router import Router
from daemon.ingest.sqs import Message, SqsQueue, poll_forever
from daemon.ingest.work import Submit
from daemon.reconcile.workqueue import Ticket
from daemon.state import Cause
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)


class EventConsumer:
    def __init__(
        self, sqs: SqsQueue, intake: Intake, router: Router, submit: Submit, dlq_url: str = ""
    ) -> None:
        self.sqs = sqs
        self._intake = intake
        self._router = router
        self._submit = submit
        self._dlq_url = dlq_url
        self.queue_reachable = False  # readiness: the last measure_queues() reached the queue
        # Acknowledgements outlive the poller: in-flight reconciles finish during the grace.
        self._deletes_done = threading.Event()
        self._deleter = threading.Thread(
            target=sqs.flush_deletes, args=(self._deletes_done,), name="sqs-deleter"
        )

    def start(self, stopping: threading.Event, beat: Callable[[], None]) -> None:
        self._deleter.start()
        threading.Thread(
            target=poll_forever,
            args=(self.sqs, self.handle, stopping, beat),
            name="sqs-poller",
            daemon=True,
        ).start()

    def stop(self) -> None:
        """After the work queue stopped: send the last acknowledgements."""
        self._deletes_done.set()
        if self._deleter.is_alive():
            self._deleter.join(timeout=10)

    def handle(self, message: Message) -> None:
        bound = log.bind(message_id=message.message_id)
        hint = self._intake.accept(message.body)
        if isinstance(hint, Ignored):
            bound.info("event_ignored", reason=hint.reason, detail=hint.detail)
            self.sqs.delete(message)
            return
        bound = bound.bind(event_id=hint.event_id, event_name=hint.event_name, actor=hint.actor)
        try:
            apps = self._router.apps_for(hint)
        except errors.AwsError as exc:
            bound.warning("event_routing_failed", error=str(exc))
            self._intake.retry_later(hint)
            self.sqs.release(message)
            return
        if not apps:
            metrics.count_event_ignored("no_application")
            bound.info("event_ignored", reason="no_application")
            self.sqs.delete(message)
            return
        bound.info("event_received", apps=sorted(a.name for a in apps))

        def settled(ok: bool) -> None:
            if ok:
                self.sqs.delete(message)
            else:
                self._intake.retry_later(hint)  # the redelivery must not look like a duplicate
                self.sqs.release(message)

        self._submit(apps, Cause("event", hint.event_id, hint.actor), Ticket(apps, settled))

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
            log.warning("queue_unreachable", error=str(exc))
            self.queue_reachable = False
            return False
        self.queue_reachable = True
        return True
