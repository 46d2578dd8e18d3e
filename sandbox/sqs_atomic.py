"""SQS receives that are atomic, as in SQS. moto 5.2.5 scans a queue and marks messages received
without a lock, so two receives running at once (the daemon's `--pollers`) can both take the same
message, and a delete or visibility change during a scan can fail the receive with a 500
("Set changed size during iteration") after it marked its messages received: they stay
invisible, undelivered, until their visibility ends. Here every scan, delete and visibility
change of the sandbox's SQS runs under one lock; a long poll waits outside it.
"""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.RLock()
_INSTALLED = threading.Event()


def install() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    if _INSTALLED.is_set():
        return
    scan = SQSBackend.receive_message
    delete = SQSBackend.delete_message
    change = SQSBackend.change_message_visibility

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        deadline = unix_time() + wait_seconds_timeout
        while True:
            with _LOCK:  # one scan, no waiting (moto's own loop waits only when asked to)
                found = scan(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            remaining = deadline - unix_time()
            if found or remaining <= 0:
                return found
            self.get_queue(queue_name).wait_for_messages(min(1.0, remaining))

    def delete_message(self: Any, queue_name: str, receipt_handle: str) -> None:
        with _LOCK:
            delete(self, queue_name, receipt_handle)

    def change_message_visibility(
        self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        with _LOCK:
            change(self, queue_name, receipt_handle, visibility_timeout)

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    SQSBackend.delete_message = delete_message  # type: ignore[method-assign]
    SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]
    _INSTALLED.set()
