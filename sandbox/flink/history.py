"""Application operations (OperationId) as DescribeApplicationOperation and
ListApplicationOperations report them.

Status model (botocore's OperationStatus): IN_PROGRESS until the change ends, then SUCCESSFUL,
FAILED (with OperationFailureDetails; after a system rollback it names the RollbackApplication
operation that reverted it) or CANCELLED (an update interrupted by RollbackApplication).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Operation:
    operation_id: str
    operation: str  # the API that started it, e.g. "UpdateApplication"
    start: float
    status: str = "IN_PROGRESS"
    end: float | None = None
    version_from: int | None = None
    version_to: int | None = None
    error: str | None = None
    rollback_operation_id: str | None = None

    def info(self) -> dict[str, Any]:
        """ApplicationOperationInfo (ListApplicationOperations)."""
        return {
            "Operation": self.operation,
            "OperationId": self.operation_id,
            "StartTime": self.start,
            # EndTime is required by the shape; while in progress it repeats StartTime.
            "EndTime": self.end if self.end is not None else self.start,
            "OperationStatus": self.status,
        }

    def details(self) -> dict[str, Any]:
        """ApplicationOperationInfoDetails (DescribeApplicationOperation)."""
        body = self.info()
        del body["OperationId"]
        if self.version_from is not None and self.version_to is not None:
            body["ApplicationVersionChangeDetails"] = {
                "ApplicationVersionUpdatedFrom": self.version_from,
                "ApplicationVersionUpdatedTo": self.version_to,
            }
        if self.status == "FAILED":
            failure: dict[str, Any] = {"ErrorInfo": {"ErrorString": self.error or "unknown"}}
            if self.rollback_operation_id:
                failure["RollbackOperationId"] = self.rollback_operation_id
            body["OperationFailureDetails"] = failure
        return body


class OperationLog:
    """Operations per application name, oldest first. Callers hold the backend's lock."""

    def __init__(self) -> None:
        self._by_app: dict[str, list[Operation]] = {}

    def clear(self, name: str | None = None) -> None:
        if name is None:
            self._by_app.clear()
        else:
            self._by_app.pop(name, None)

    def begin(
        self,
        name: str,
        operation: str,
        now: float,
        version_from: int | None = None,
        version_to: int | None = None,
    ) -> Operation:
        started = Operation(
            secrets.token_hex(12), operation, now, "IN_PROGRESS", None, version_from, version_to
        )
        self._by_app.setdefault(name, []).append(started)
        return started

    def finish(
        self, name: str, operation_id: str | None, now: float, status: str, **more: Any
    ) -> None:
        if operation_id is None:
            return
        operations = self._by_app.get(name, [])
        for index, operation in enumerate(operations):
            if operation.operation_id == operation_id and operation.status == "IN_PROGRESS":
                operations[index] = replace(operation, status=status, end=now, **more)

    def of(self, name: str) -> list[Operation]:
        return list(self._by_app.get(name, []))
