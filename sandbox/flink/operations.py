"""kinesisanalyticsv2 operations: request dict in, response dict out (or FlinkApiError)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.flink import changes
from sandbox.flink import configuration as conf
from sandbox.flink.backend import FlinkBackend, new_token
from sandbox.flink.errors import FlinkApiError, invalid
from sandbox.flink.model import (
    FlinkApp,
    LoggingOption,
    application_detail,
    application_summary,
    logging_descriptions,
    vpc_description,
)
from sandbox.shapes import input_problems

Request = Mapping[str, Any]
Response = dict[str, Any]


def _operation_id() -> str:
    return secrets.token_hex(8)


def create_application(backend: FlinkBackend, req: Request) -> Response:
    runtime = req["RuntimeEnvironment"]
    if not runtime.startswith("FLINK-"):
        raise invalid(f"Runtime {runtime}: this sandbox models Apache Flink applications only.")
    config = req.get("ApplicationConfiguration", {})
    logging, vpcs = req.get("CloudWatchLoggingOptions", []), config.get("VpcConfigurations", [])
    if len(logging) > 1 or len(vpcs) > 1:
        raise invalid("At most one CloudWatch logging option and one VPC configuration.")
    snapshots = config.get("ApplicationSnapshotConfiguration", {"SnapshotsEnabled": False})
    encryption = config.get("ApplicationEncryptionConfiguration", {"KeyType": "AWS_OWNED_KEY"})
    code = config.get("ApplicationCodeConfiguration")
    now = round(time.time(), 3)
    app = FlinkApp(
        name=req["ApplicationName"],
        arn=backend.arn(req["ApplicationName"]),
        runtime=runtime,
        role=changes.check_role(req["ServiceExecutionRole"]),
        created=now,
        updated=now,
        version=1,
        token=new_token(),
        status="READY",
        flink=conf.flink_description(config.get("FlinkApplicationConfiguration", {})),
        snapshots=conf.snapshot_description(
            snapshots["SnapshotsEnabled"], snapshots.get("SnapshotMode")
        ),
        encryption=conf.encryption_description(encryption["KeyType"], encryption.get("KeyId")),
        rollback_enabled=config.get("ApplicationSystemRollbackConfiguration", {}).get(
            "RollbackEnabled", False
        ),
        description=req.get("ApplicationDescription", ""),
        mode=req.get("ApplicationMode", "STREAMING"),
        code=conf.code_description(code) if code else None,
        property_groups=tuple(config.get("EnvironmentProperties", {}).get("PropertyGroups", [])),
        logging=tuple(
            LoggingOption(
                f"1.{i + 1}", changes.check_log_stream(backend.lookups, o["LogStreamARN"])
            )
            for i, o in enumerate(logging)
        ),
        vpcs=tuple(
            changes.vpc_config(backend.lookups, f"1.{i + 1}", v["SubnetIds"], v["SecurityGroupIds"])
            for i, v in enumerate(vpcs)
        ),
        tags=tuple(_tags(req.get("Tags", [])).items()),
    )
    return {"ApplicationDetail": application_detail(backend.add(app))}


def describe_application(backend: FlinkBackend, req: Request) -> Response:
    return {"ApplicationDetail": application_detail(backend.get(req["ApplicationName"]))}


def list_applications(backend: FlinkBackend, req: Request) -> Response:
    page, token = backend.list_page(req.get("Limit", 50), req.get("NextToken"))
    response: Response = {"ApplicationSummaries": [application_summary(a) for a in page]}
    if token is not None:
        response["NextToken"] = token
    return response


def _mutate(backend: FlinkBackend, req: Request, change: changes.Change) -> FlinkApp:
    return backend.mutate(
        req["ApplicationName"],
        req.get("CurrentApplicationVersionId"),
        req.get("ConditionalToken"),
        change,
    )


def update_application(backend: FlinkBackend, req: Request) -> Response:
    app = _mutate(backend, req, changes.update_application(backend.lookups, req))
    return {"ApplicationDetail": application_detail(app), "OperationId": _operation_id()}


def _logging_response(app: FlinkApp) -> Response:
    return {
        "ApplicationARN": app.arn,
        "ApplicationVersionId": app.version,
        "CloudWatchLoggingOptionDescriptions": logging_descriptions(app),
        "OperationId": _operation_id(),
    }


def add_logging_option(backend: FlinkBackend, req: Request) -> Response:
    stream = req["CloudWatchLoggingOption"]["LogStreamARN"]
    return _logging_response(_mutate(backend, req, changes.add_logging(backend.lookups, stream)))


def delete_logging_option(backend: FlinkBackend, req: Request) -> Response:
    change = changes.delete_logging(req["CloudWatchLoggingOptionId"])
    return _logging_response(_mutate(backend, req, change))


def add_vpc_configuration(backend: FlinkBackend, req: Request) -> Response:
    app = _mutate(backend, req, changes.add_vpc(backend.lookups, req["VpcConfiguration"]))
    return {
        "ApplicationARN": app.arn,
        "ApplicationVersionId": app.version,
        "VpcConfigurationDescription": vpc_description(app.vpcs[-1]),
        "OperationId": _operation_id(),
    }


def delete_vpc_configuration(backend: FlinkBackend, req: Request) -> Response:
    app = _mutate(backend, req, changes.delete_vpc(req["VpcConfigurationId"]))
    return {
        "ApplicationARN": app.arn,
        "ApplicationVersionId": app.version,
        "OperationId": _operation_id(),
    }


def start_application(backend: FlinkBackend, req: Request) -> Response:
    backend.start(req["ApplicationName"])
    return {"OperationId": _operation_id()}


def stop_application(backend: FlinkBackend, req: Request) -> Response:
    backend.stop(req["ApplicationName"], bool(req.get("Force", False)))
    return {"OperationId": _operation_id()}


def delete_application(backend: FlinkBackend, req: Request) -> Response:
    backend.delete(req["ApplicationName"], float(req["CreateTimestamp"]))
    return {}


def _tags(tags: list[dict[str, str]]) -> dict[str, str]:
    for tag in tags:
        if tag["Key"].lower().startswith("aws:"):
            raise invalid(f"Tag key {tag['Key']} uses the reserved prefix aws:.")
    return {tag["Key"]: tag.get("Value", "") for tag in tags}


def tag_resource(backend: FlinkBackend, req: Request) -> Response:
    new = _tags(req["Tags"])
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
}
READ_ONLY = frozenset({"DescribeApplication", "ListApplications", "ListTagsForResource"})


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
