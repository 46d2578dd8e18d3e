"""moto's SQS made fit for a daemon with several receive loops and a load test.

- Serialised: moto's queue state (visible messages, the in-flight set) is not thread-safe; two
  ReceiveMessage calls at once can fail with "Set changed size during iteration" (a 500 real
  SQS never answers). Every call that changes a queue runs under one lock; a long poll waits
  for messages outside it, so a receiver never blocks a sender.
- Linear receive: moto 5.2.5 checks each message's retention through `get_queue_attributes`,
  which recounts the whole queue for every message: a receive of 10 from a queue holding 1,000
  messages takes about half a second, so a burst test would measure moto, not the daemon. This
  reads the queue's retention period directly, with the same meaning.
- SenderId: moto gives every message one constant SenderId. AWS gives the sender's principal
  id: "For a user, returns the user ID ... For an IAM role, returns the IAM role ID, for example
  ABCDE1F2GH3I4JK5LMNOP:i-a123b456" (the role session's principal id)
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
  The middleware names the caller of SendMessage / SendMessageBatch (`sent_by`). Messages the
  sandbox itself puts on a queue (EventBridge deliveries, Scheduler ticks) carry
  `SERVICE_SENDER_ID`: AWS does not document what SenderId shows for a message EventBridge
  delivers, only that it is the sending principal's id, and it is never the customer's own
  principal; an id of an AWS-owned principal (not of the account) stands in for it. Not
  modelled: the Scheduler's sends carry its execution role's session id in AWS.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

_LOCK = threading.RLock()
# An AWS-owned principal's id (a user id: AIDA...), never one of the customer's principals.
SERVICE_SENDER_ID = "AIDAJQ3W5SANDBOXEVENTS"
_SENDER = threading.local()


@contextlib.contextmanager
def sent_by(principal_id: str) -> Iterator[None]:
    """Messages sent in this block (this thread) carry `principal_id` as their SenderId."""
    _SENDER.id = principal_id
    try:
        yield
    finally:
        _SENDER.id = None


def _with_sender(send: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(send)
    def call(*args: Any, **kwargs: Any) -> Any:
        message = send(*args, **kwargs)
        message.sender_id = getattr(_SENDER, "id", None) or SERVICE_SENDER_ID
        return message

    return call


_MUTATING = (
    "send_message",
    "send_message_batch",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "purge_queue",
)


def _within_retention(backend: Any, queue_name: str, message: Any) -> bool:
    from moto.core.utils import unix_time

    retention = int(backend.get_queue(queue_name).message_retention_period)
    return bool(retention + message.sent_timestamp / 1000 > unix_time())


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    call.__wrapped_by_sandbox__ = True  # type: ignore[attr-defined]
    return call


def _receive(receive: Callable[..., Any]) -> Callable[..., Any]:
    """moto's receive_message without its own wait: one locked attempt at a time, waiting for
    messages between attempts without the lock, until the long poll's end."""

    @functools.wraps(receive)
    def call(
        backend: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        from moto.core.utils import unix_time

        deadline = unix_time() + wait_seconds_timeout
        while True:
            with _LOCK:
                found = receive(
                    backend, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            if found or unix_time() >= deadline:
                return found
            backend.get_queue(queue_name).wait_for_messages(1)

    call.__wrapped_by_sandbox__ = True  # type: ignore[attr-defined]
    return call


def install() -> None:
    from moto.sqs.models import SQSBackend

    SQSBackend.is_message_valid_based_on_retention_period = _within_retention  # type: ignore[method-assign,assignment]
    if getattr(SQSBackend.receive_message, "__wrapped_by_sandbox__", False):
        return  # installed already (one sandbox per process, or a second one)
    SQSBackend.receive_message = _receive(SQSBackend.receive_message)  # type: ignore[method-assign]
    SQSBackend.send_message = _with_sender(SQSBackend.send_message)  # type: ignore[method-assign]
    for name in _MUTATING:
        setattr(SQSBackend, name, _locked(getattr(SQSBackend, name)))
