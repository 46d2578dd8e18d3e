"""The sandbox's own record of every API call it served.

Tests assert on this record ("no mutating call happened") rather than on what the code under
test says it did. A call is mutating unless its operation name starts with a read-only verb.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

READ_ONLY_PREFIXES = (
    "Describe",
    "List",
    "Get",
    "Head",
    "Lookup",
    "Search",
    "Query",
    "Scan",
    "BatchGet",
    "Receive",
    "Select",
    "Check",
    "Simulate",
    "Test",
    "Validate",
)


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_ONLY_PREFIXES)


@dataclass(frozen=True)
class CallRecord:
    time: str  # ISO 8601, UTC
    service: str  # SigV4 signing name: kinesisanalytics, iam, ec2, sqs, events, logs, sts ...
    operation: str
    region: str
    caller_arn: str
    access_key_id: str | None
    mutating: bool
    error_code: str | None
    emitted: bool  # a CloudTrail envelope was routed for it
    # The Managed Flink application a kinesisanalytics call names (per-app accounting).
    application: str | None = None
    request_id: str | None = None  # the x-amzn-RequestId answered (Managed Flink calls)
    account: str | None = None  # the account the call acted in (its access key's)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class CallLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []

    def add(self, record: CallRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> tuple[CallRecord, ...]:
        with self._lock:
            return tuple(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
