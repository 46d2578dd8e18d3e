"""SQS receive in linear time. moto 5.2.5 checks each message's retention through
`get_queue_attributes`, which recounts the whole queue for every message: a receive of 10 from
a queue holding 1,000 messages takes about half a second, so a burst test would measure moto,
not the daemon. This reads the queue's retention period directly, with the same meaning.
"""

from __future__ import annotations

from typing import Any


def _within_retention(backend: Any, queue_name: str, message: Any) -> bool:
    from moto.core.utils import unix_time

    retention = int(backend.get_queue(queue_name).message_retention_period)
    return bool(retention + message.sent_timestamp / 1000 > unix_time())


def install() -> None:
    from moto.sqs.models import SQSBackend

    SQSBackend.is_message_valid_based_on_retention_period = _within_retention  # type: ignore[method-assign,assignment]
