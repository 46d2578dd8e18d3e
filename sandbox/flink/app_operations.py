"""Operations on application operations: DescribeApplicationOperation,
ListApplicationOperations (newest first, paginated, filtered) and RollbackApplication."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sandbox.flink.backend import FlinkBackend
from sandbox.flink.errors import FlinkApiError
from sandbox.flink.model import application_detail

Request = Mapping[str, Any]
Response = dict[str, Any]


def describe_application_operation(backend: FlinkBackend, req: Request) -> Response:
    name = req["ApplicationName"]
    found = [o for o in backend.operations_of(name) if o.operation_id == req["OperationId"]]
    if not found:
        raise FlinkApiError(
            "ResourceNotFoundException",
            f"Operation {req['OperationId']} not found for application {name}.",
        )
    return {"ApplicationOperationInfoDetails": found[0].details()}


def list_application_operations(backend: FlinkBackend, req: Request) -> Response:
    operations = backend.operations_of(req["ApplicationName"])
    selected = [
        o
        for o in reversed(operations)
        if req.get("Operation") in (None, o.operation)
        and req.get("OperationStatus") in (None, o.status)
    ]
    start = 0
    if "NextToken" in req:
        ids = [o.operation_id for o in selected]
        if req["NextToken"] not in ids:
            raise FlinkApiError("InvalidArgumentException", "NextToken is not valid.")
        start = ids.index(req["NextToken"]) + 1
    limit = req.get("Limit", 50)
    page = selected[start : start + limit]
    response: Response = {"ApplicationOperationInfoList": [o.info() for o in page]}
    if start + limit < len(selected):
        response["NextToken"] = page[-1].operation_id
    return response


def rollback_application(backend: FlinkBackend, req: Request) -> Response:
    app, operation_id = backend.rollback(
        req["ApplicationName"], int(req["CurrentApplicationVersionId"])
    )
    return {"ApplicationDetail": application_detail(app), "OperationId": operation_id}


OPERATIONS: dict[str, Callable[[FlinkBackend, Request], Response]] = {
    "DescribeApplicationOperation": describe_application_operation,
    "ListApplicationOperations": list_application_operations,
    "RollbackApplication": rollback_application,
}
READ_ONLY = frozenset({"DescribeApplicationOperation", "ListApplicationOperations"})
