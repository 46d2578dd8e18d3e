"""CloudTrail records for the mutating calls the daemon watches, in their EventBridge envelope.

Shapes follow https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
and the EventBridge "AWS API Call via CloudTrail" envelope. requestParameters and
responseElements use the lower camel case CloudTrail uses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.shapes import service_model

# SigV4 service name -> (botocore service, eventSource, EventBridge source, emitted event names).
WATCHED: dict[str, tuple[str, str, str, frozenset[str]]] = {
    "kinesisanalytics": (
        "kinesisanalyticsv2",
        "kinesisanalytics.amazonaws.com",
        "aws.kinesisanalytics",
        frozenset(
            {
                "CreateApplication",
                "DeleteApplication",
                "UpdateApplication",
                "AddApplicationCloudWatchLoggingOption",
                "DeleteApplicationCloudWatchLoggingOption",
                "AddApplicationVpcConfiguration",
                "DeleteApplicationVpcConfiguration",
                "StartApplication",
                "StopApplication",
                "RollbackApplication",
                "CreateApplicationSnapshot",
                "DeleteApplicationSnapshot",
                "UpdateApplicationMaintenanceConfiguration",
                "TagResource",
                "UntagResource",
            }
        ),
    ),
    "iam": (
        "iam",
        "iam.amazonaws.com",
        "aws.iam",
        frozenset(
            {
                "PutRolePolicy",
                "DeleteRolePolicy",
                "AttachRolePolicy",
                "DetachRolePolicy",
                "UpdateAssumeRolePolicy",
                "PutRolePermissionsBoundary",
                "DeleteRolePermissionsBoundary",
                "CreatePolicyVersion",
                "SetDefaultPolicyVersion",
            }
        ),
    ),
    "ec2": (
        "ec2",
        "ec2.amazonaws.com",
        "aws.ec2",
        frozenset(
            {
                "CreateRoute",
                "ReplaceRoute",
                "DeleteRoute",
                "CreateRouteTable",
                "DeleteRouteTable",
                "AssociateRouteTable",
                "DisassociateRouteTable",
                "ReplaceRouteTableAssociation",
                "AttachInternetGateway",
                "DetachInternetGateway",
                "CreateNatGateway",
                "DeleteNatGateway",
                "ModifyManagedPrefixList",
                "CreateNetworkAclEntry",
                "ReplaceNetworkAclEntry",
                "DeleteNetworkAclEntry",
                "ReplaceNetworkAclAssociation",
            }
        ),
    ),
}
GLOBAL_SERVICE_REGION = {"iam": "us-east-1"}  # IAM events are recorded and delivered there
DETAIL_TYPE = "AWS API Call via CloudTrail"
_OPAQUE_KEYS = frozenset({"PropertyMap", "propertyMap"})  # user data: keys kept verbatim


def is_emitted(service: str, operation: str) -> bool:
    watched = WATCHED.get(service)
    return watched is not None and operation in watched[3]


def lower_camel(value: Any) -> Any:
    """PascalCase keys to lowerCamelCase, recursively (LogStreamARN -> logStreamARN)."""
    if isinstance(value, list):
        return [lower_camel(item) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        name = key[:1].lower() + key[1:]
        if name == "return":
            name = "_return"  # CloudTrail's spelling for EC2's <return>
        result[name] = item if key in _OPAQUE_KEYS else lower_camel(item)
    return result


@dataclass(frozen=True)
class ApiCall:
    """One served call, as the middleware saw it."""

    service: str
    operation: str
    region: str
    access_key_id: str | None
    source_ip: str
    user_agent: str
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    error_code: str | None = None
    error_message: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(call: ApiCall, identity: dict[str, Any], account_id: str) -> dict[str, Any]:
    """The CloudTrail record (what EventBridge puts under `detail`)."""
    botocore_name, event_source, _, _ = WATCHED[call.service]
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": _iso(call.time),
        "eventSource": event_source,
        "eventName": call.operation,
        "awsRegion": GLOBAL_SERVICE_REGION.get(call.service, call.region),
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent,
        "requestParameters": lower_camel(call.request) if call.request else None,
        "responseElements": lower_camel(call.response) if call.response else None,
        "requestID": call.request_id,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "apiVersion": service_model(botocore_name).api_version,
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    if call.error_code is not None:
        detail["errorCode"] = call.error_code
        detail["errorMessage"] = call.error_message or ""
        detail["responseElements"] = None
    return detail


def envelope(call: ApiCall, detail: dict[str, Any], account_id: str) -> dict[str, Any]:
    """The EventBridge event that carries a CloudTrail record."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": WATCHED[call.service][2],
        "account": account_id,
        "time": detail["eventTime"],
        "region": detail["awsRegion"],
        "resources": [],
        "detail": detail,
    }
