"""SQS ingestion: long polling, visibility kept while work is in progress, delete when done.

A message is deleted only after every application it points to has been reconciled by a run
that started after the message arrived. A run that AWS made fail is retried in the work queue
while the heartbeat keeps the message invisible; only work that cannot be done here (refused,
crashed, shut down) releases it so it comes back (and lands in the DLQ after maxReceiveCount).

A message is tracked by its MessageId. If SQS delivers it again while it is in flight (the
heartbeat failed and its visibility ran out), the new delivery replaces the old one: the
heartbeat and the acknowledgement use the newest receipt handle (SQS may ignore a delete with
an older one), and only the newest delivery's outcome acknowledges or releases the message.

A receive asks for a short visibility (`receive_visibility`): if its reply is lost (a dropped
connection after SQS served it), its messages come back after that, not after the full
`visibility_timeout`. The heartbeat extends a message to the full timeout once it is known, and
again before it would run out.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from daemon import errors
from daemon.aws import Aws

log = structlog.get_logger(__name__)
# Waits between failed receives double from 0.5 s up to this (the receive call itself already
# retried with backoff): a few seconds, so polling resumes soon after an outage.
MAX_POLL_BACKOFF_SECONDS = 4.0
FULL_WAIT_SECONDS = 0.2  # how often a loop holding all it may looks for room again


@dataclass(frozen=True)
class Message:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    sender_id: str = ""  # SQS's SenderId: the sending principal's id ("" when SQS gave none)

    @classmethod
    def from_sqs(cls, raw: Mapping[str, Any]) -> Message:
        attributes = raw.get("Attributes", {})
        return cls(
            message_id=raw["MessageId"],
            receipt_handle=raw["ReceiptHandle"],
            body=raw.get("Body", ""),
            receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
            sender_id=str(attributes.get("SenderId", "")),
        )


class SqsQueue:
    """The event queue as the daemon uses it."""

    def __init__(
        self,
        aws: Aws,
        queue_url: str,
        visibility_timeout: int,
        wait_seconds: int = 20,
        receive_visibility: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = queue_url
        self._aws = aws
        self._visibility = visibility_timeout
        self.receive_visibility = min(receive_visibility or visibility_timeout, visibility_timeout)
        self._wait = wait_seconds
        self._clock = clock
        self._in_flight: dict[str, Message] = {}  # message id -> its newest delivery
        self._visible_at: dict[str, float] = {}  # message id -> when it reappears (clock)
        self._lock = threading.Lock()
        self._deletes: list[Message] = []
        self._deletes_ready = threading.Condition()

    def receive(self) -> list[Message]:
        sent = self._clock()  # the visibility may start as soon as the request is sent
        response = self._aws.call(
            "sqs",
            "ReceiveMessage",
            QueueUrl=self.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self._wait,
            VisibilityTimeout=self.receive_visibility,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SenderId"],
        )
        messages = [Message.from_sqs(m) for m in response.get("Messages", [])]
        with self._lock:
            for message in messages:
                if message.message_id in self._in_flight:
                    log.info(
                        "message_redelivered_in_flight",
                        message_id=message.message_id,
                        receive_count=message.receive_count,
                    )
                self._in_flight[message.message_id] = message
                self._visible_at[message.message_id] = sent + self.receive_visibility
        return messages

    def is_newest(self, message: Message) -> bool:
        """Is `message` the delivery of its MessageId that is tracked now?"""
        with self._lock:
            current = self._in_flight.get(message.message_id)
        return current is not None and current.receipt_handle == message.receipt_handle

    def delete(self, message: Message) -> None:
        """Acknowledge: queued for the next DeleteMessageBatch (see `flush_deletes`). A delivery
        superseded by a newer one is not acknowledged: the newer one's outcome decides."""
        if not self._forget(message):
            return
        with self._deletes_ready:
            self._deletes.append(message)
            self._deletes_ready.notify()

    def flush_deletes(self, stop: threading.Event) -> None:
        """Delete acknowledged messages ten at a time until `stop`, then what is left.
        Runs in its own thread so reconcile workers never wait on SQS."""
        while True:
            with self._deletes_ready:
                self._deletes_ready.wait_for(lambda: self._deletes or stop.is_set(), timeout=1.0)
                batch, self._deletes = self._deletes[:10], self._deletes[10:]
            if batch:
                self._delete_batch(batch)
            elif stop.is_set():
                return

    def _delete_batch(self, batch: list[Message]) -> None:
        try:
            response = self._aws.call(
                "sqs",
                "DeleteMessageBatch",
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(batch)
                ],
            )
        except errors.AwsError as exc:
            # Not deleted: the messages come back and are reconciled again (harmless).
            log.warning("message_delete_failed", error=str(exc), messages=len(batch))
            return
        failed = {f.get("Id") for f in response.get("Failed", [])}
        for failure in response.get("Failed", []):
            log.warning(
                "message_delete_failed", error=failure.get("Message", ""), code=failure.get("Code")
            )
        deleted = [m.message_id for i, m in enumerate(batch) if str(i) not in failed]
        log.info("messages_deleted", message_ids=deleted)

    def send_bodies(self, bodies: list[str]) -> list[str]:
        """SendMessageBatch to this queue, ten at a time; the bodies SQS reported failed."""
        failed: list[str] = []
        for start in range(0, len(bodies), 10):
            batch = bodies[start : start + 10]
            response = self._aws.call(
                "sqs",
                "SendMessageBatch",
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)],
            )
            failed += [batch[int(f["Id"])] for f in response.get("Failed", [])]
        return failed

    def release(self, message: Message) -> None:
        """Let the message come back soon (backing off with each receive)."""
        if not self._forget(message):
            return
        backoff = min(self._visibility, 5 * message.receive_count)
        self._aws.call(
            "sqs",
            "ChangeMessageVisibility",
            QueueUrl=self.url,
            ReceiptHandle=message.receipt_handle,
            VisibilityTimeout=backoff,
        )

    def abandon(self, message: Message) -> None:
        """Stop tracking without touching SQS: the message reappears when visibility ends."""
        self._forget(message)

    def extend_visibility(self) -> None:
        """Keep in-progress messages invisible: called every `receive_visibility` / 3 seconds,
        it extends to the full timeout each message that would reappear before the beat after
        next (so one failed beat is survived)."""
        now = self._clock()
        horizon = now + 2 * self.receive_visibility / 3
        with self._lock:
            messages = [
                m for m in self._in_flight.values() if self._visible_at[m.message_id] <= horizon
            ]
        for start in range(0, len(messages), 10):
            batch = messages[start : start + 10]
            response = self._aws.call(
                "sqs",
                "ChangeMessageVisibilityBatch",
                QueueUrl=self.url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m.receipt_handle,
                        "VisibilityTimeout": self._visibility,
                    }
                    for i, m in enumerate(batch)
                ],
            )
            failed = {f.get("Id") for f in response.get("Failed", [])}
            with self._lock:
                for i, m in enumerate(batch):
                    if str(i) not in failed and self._in_flight.get(m.message_id) is m:
                        self._visible_at[m.message_id] = now + self._visibility
            for failure in response.get("Failed", []):
                # E.g. past SQS's 12 h visibility limit: the message reappears, is received
                # again and tracked under its new receipt handle (docs/running.md).
                log.warning(
                    "visibility_extension_failed",
                    error=failure.get("Message", ""),
                    code=failure.get("Code"),
                )

    def depth(self, url: str | None = None) -> int:
        attributes = self._aws.call(
            "sqs",
            "GetQueueAttributes",
            QueueUrl=url or self.url,
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def dead_letter_url(self) -> str:
        """The DLQ named by the queue's redrive policy, or '' if it has none."""
        attributes = self._aws.call(
            "sqs", "GetQueueAttributes", QueueUrl=self.url, AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        arn = dead_letter_arn(attributes.get("RedrivePolicy"))
        if not arn:
            return ""
        _, _, _, _, owner, name = arn.split(":", 5)
        found = self._aws.call("sqs", "GetQueueUrl", QueueName=name, QueueOwnerAWSAccountId=owner)
        return str(found["QueueUrl"])

    def _forget(self, message: Message) -> bool:
        """Stop tracking `message`; False (and nothing changed) if it was superseded."""
        with self._lock:
            current = self._in_flight.get(message.message_id)
            if current is None or current.receipt_handle != message.receipt_handle:
                superseded = True
            else:
                del self._in_flight[message.message_id]
                del self._visible_at[message.message_id]
                superseded = False
        if superseded:
            log.info("message_delivery_superseded", message_id=message.message_id)
        return not superseded


def dead_letter_arn(redrive_policy: str | None) -> str:
    """The DLQ ARN a queue's RedrivePolicy attribute names ('' without one): the only source
    of truth for it (DLQs are named freely, never `<queue>-dlq` by rule)."""
    if not redrive_policy:
        return ""
    arn = str(json.loads(redrive_policy).get("deadLetterTargetArn", ""))
    return arn if arn.startswith("arn:") and arn.count(":") == 5 else ""


def poll_forever(
    queue: SqsQueue,
    handle: Callable[[Message], None],
    stop: threading.Event,
    heartbeat: Callable[[], None],
    answered: Callable[[bool, str], None] = lambda ok, error: None,
    has_room: Callable[[], bool] = lambda: True,
) -> None:
    """Receive until `stop` is set; never lets one bad message or AWS hiccup end the loop.
    After a failure it waits a short, capped backoff (reset by the next success), so the
    daemon resumes within seconds of an outage ending; `answered` hears each outcome. While
    `has_room()` is False (the process holds all the work it may) it waits instead of receiving."""
    failures = 0
    while not stop.is_set():
        if not has_room():
            heartbeat()  # waiting on purpose is not being stuck
            stop.wait(FULL_WAIT_SECONDS)
            continue
        try:
            messages = queue.receive()
            failures = 0
            answered(True, "")
        except errors.AwsError as exc:
            failures += 1
            answered(False, str(exc))
            log.error("queue_receive_failed", error=str(exc), failures=failures)
            stop.wait(min(MAX_POLL_BACKOFF_SECONDS, 0.25 * 2.0**failures))
            continue
        finally:
            heartbeat()
        for message in messages:
            if stop.is_set():
                queue.abandon(message)  # shutting down: it reappears for the next replica
                continue
            try:
                handle(message)
            except Exception:
                log.exception("message_handling_crashed", message_id=message.message_id)
                queue.abandon(message)
