"""kinesisanalyticsv2 operations: request dict in, response dict out (or FlinkApiError)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sandbox.flink import app_operations, changes, create, snapshots, versions
from sandbox.flink.backend import FlinkBackend
from sandbox.flink.errors import FlinkApiError, invalid
from sandbox.flink.model import (
    FlinkApp,
    application_detail,
    application_summary,
    logging_descriptions,
    vpc_description,
)
from sandbox.shapes import input_problems

Request = Mapping[str, Any]
Response = dict[str, Any]


def create_application(backend: FlinkBackend, req: Request) -> Response:
    return {"ApplicationDetail": application_detail(create.new_application(backend, req))}


def describe_application(backend: FlinkBackend, req: Request) -> Response:
    return {"ApplicationDetail": application_detail(backend.get(req["ApplicationName"]))}


def list_applications(backend: FlinkBackend, req: Request) -> Response:
    page, token = backend.list_page(req.get("Limit", 50), req.get("NextToken"))
    response: Response = {"ApplicationSummaries": [application_summary(a) for a in page]}
    if token is not None:
        response["NextToken"] = token
    return response


def _mutate(
    backend: FlinkBackend, req: Request, change: changes.Change, operation: str
) -> tuple[FlinkApp, str]:
    return backend.mutate(
        req["ApplicationName"],
        req.get("CurrentApplicationVersionId"),
        req.get("ConditionalToken"),
        change,
        operation,
    )


def update_application(backend: FlinkBackend, req: Request) -> Response:
    change = changes.update_application(backend.lookups, req)
    app, operation_id = _mutate(backend, req, change, "UpdateApplication")
    return {"ApplicationDetail": application_detail(app), "OperationId": operation_id}


def _logging_response(changed: tuple[FlinkApp, str]) -> Response:
    app, operation_id = changed
    return {
        "ApplicationARN": app.arn,
        "ApplicationVersionId": app.version,
        "CloudWatchLoggingOptionDescriptions": logging_descriptions(app),
        "OperationId": operation_id,
    }


def add_logging_option(backend: FlinkBackend, req: Request) -> Response:
    stream = req["CloudWatchLoggingOption"]["LogStreamARN"]
    change = changes.add_logging(backend.lookups, stream)
    return _logging_response(_mutate(backend, req, change, "AddApplicationCloudWatchLoggingOption"))


def delete_logging_option(backend: FlinkBackend, req: Request) -> Response:
    change = changes.delete_logging(req["CloudWatchLoggingOptionId"])
    return _logging_response(
        _mutate(backend, req, change, "DeleteApplicationCloudWatchLoggingOption")
    )


def add_vpc_configuration(backend: FlinkBackend, req: Request) -> Response:
    change = changes.add_vpc(backend.lookups, req["VpcConfiguration"])
    app, operation_id = _mutate(backend, req, change, "AddApplicationVpcConfiguration")
    return {
        "ApplicationARN": app.arn,
        "ApplicationVersionId": app.version,
        "VpcConfigurationDescription": vpc_description(app.vpcs[-1]),
        "OperationId": operation_id,
    }


def delete_vpc_configuration(backend: FlinkBackend, req: Request) -> Response:
    change = changes.delete_vpc(req["VpcConfigurationId"])
    app, operation_id = _mutate(backend, req, change, "DeleteApplicationVpcConfiguration")
    return {
        "ApplicationARN": app.arn,
        "ApplicationVersionId": app.version,
        "OperationId": operation_id,
    }


def start_application(backend: FlinkBackend, req: Request) -> Response:
    return {"OperationId": backend.start(req["ApplicationName"])[1]}


def stop_application(backend: FlinkBackend, req: Request) -> Response:
    return {"OperationId": backend.stop(req["ApplicationName"], bool(req.get("Force", False)))[1]}


def delete_application(backend: FlinkBackend, req: Request) -> Response:
    backend.delete(req["ApplicationName"], float(req["CreateTimestamp"]))
    return {}


def tag_resource(backend: FlinkBackend, req: Request) -> Response:
    new = create.tags(req["Tags"])
    backend.set_tags(req["ResourceARN"], lambda tags: {**tags, **new})
    return {}


def untag_resource(backend: FlinkBackend, req: Request) -> Response:
    keys = set(req["TagKeys"])
    backend.set_tags(
        req["ResourceARN"], lambda tags: {k: v for k, v in tags.items() if k not in keys}
    )
    return {}


def list_tags_for_resource(backend: FlinkBackend, req: Request) -> Response:
    app = backend.by_arn(req["ResourceARN"])
    return {"Tags": [{"Key": key, "Value": value} for key, value in app.tags]}


OPERATIONS: dict[str, Callable[[FlinkBackend, Request], Response]] = {
    "CreateApplication": create_application,
    "DescribeApplication": describe_application,
    "ListApplications": list_applications,
    "UpdateApplication": update_application,
    "AddApplicationCloudWatchLoggingOption": add_logging_option,
    "DeleteApplicationCloudWatchLoggingOption": delete_logging_option,
    "AddApplicationVpcConfiguration": add_vpc_configuration,
    "DeleteApplicationVpcConfiguration": delete_vpc_configuration,
    "StartApplication": start_application,
    "StopApplication": stop_application,
    "DeleteApplication": delete_application,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
    **app_operations.OPERATIONS,
    **snapshots.OPERATIONS,
    **versions.OPERATIONS,
}
READ_ONLY = frozenset(
    {
        "DescribeApplication",
        "ListApplications",
        "ListTagsForResource",
        *app_operations.READ_ONLY,
        *snapshots.READ_ONLY,
        *versions.READ_ONLY,
    }
)


def handle(backend: FlinkBackend, operation: str, req: Request) -> Response:
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise FlinkApiError(
            "UnsupportedOperationException",
            f"{operation} is not implemented by the flink-remediator sandbox.",
        )
    found = input_problems("kinesisanalyticsv2", operation, dict(req))
    if found:
        raise invalid(f"Invalid request: {found[0]}")
    return handler(backend, req)
