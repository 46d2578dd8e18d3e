"""What AWS authorizes a request on: its resource ARN and its condition context keys.

For the services whose calls the sandbox evaluates itself (`enforce_iam.EVALUATED`): IAM (role,
user and policy calls), CloudWatch Logs, SNS, SQS, and our kinesisanalyticsv2. Context keys:
aws:RequestedRegion, aws:PrincipalArn, aws:ResourceTag/* (IAM roles, Flink applications),
aws:RequestTag/* and aws:TagKeys (tagging calls), iam:PolicyARN, iam:PermissionsBoundary,
kms:ViaService / kms:GrantIsForAWSResource (Flink's own KMS calls for the caller).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sandbox.iam_eval import Request

Params = Mapping[str, Any]

_QUERY_TAG = re.compile(r"^Tags\.member\.(\d+)\.(Key|Value)$")
_QUERY_TAG_KEY = re.compile(r"^TagKeys\.member\.\d+$")


def base_context(region: str, principal_arn: str) -> dict[str, tuple[str, ...]]:
    return {"aws:requestedregion": (region,), "aws:principalarn": (principal_arn,)}


def tag_context(prefix: str, tags: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    return {f"aws:{prefix}tag/{k}".lower(): (v,) for k, v in tags.items()}


def request_tags(
    tags: Mapping[str, str], removed_keys: tuple[str, ...] = ()
) -> dict[str, tuple[str, ...]]:
    """aws:RequestTag/* and aws:TagKeys for a call that sets `tags` or removes `removed_keys`."""
    context = tag_context("Request", tags)
    keys = tuple(tags) or removed_keys
    if keys:
        context["aws:tagkeys"] = keys
    return context


def query_tags(params: Params) -> tuple[dict[str, str], tuple[str, ...]]:
    """Tags.member.N.Key/Value and TagKeys.member.N of a query-protocol request."""
    pairs: dict[str, dict[str, str]] = {}
    for name, value in params.items():
        match = _QUERY_TAG.match(name)
        if match:
            pairs.setdefault(match.group(1), {})[match.group(2)] = str(value)
    tags = {p["Key"]: p.get("Value", "") for _, p in sorted(pairs.items()) if "Key" in p}
    removed = tuple(str(v) for k, v in sorted(params.items()) if _QUERY_TAG_KEY.match(k))
    return tags, removed


def role_tags(role: Any) -> dict[str, str]:
    tags = getattr(role, "tags", None) or {}
    items = tags.values() if isinstance(tags, Mapping) else tags
    return {str(t["Key"]): str(t["Value"]) for t in items}


# Service Authorization Reference, IAM: which actions take iam:PolicyARN and
# iam:PermissionsBoundary (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
POLICY_ARN_ACTIONS = frozenset(
    f"iam:{verb}{kind}Policy" for verb in ("Attach", "Detach") for kind in ("Group", "Role", "User")
)
# The boundary the request sets ...
BOUNDARY_REQUESTED = frozenset(
    {
        "iam:CreateRole",
        "iam:CreateUser",
        "iam:PutRolePermissionsBoundary",
        "iam:PutUserPermissionsBoundary",
    }
)
# ... or the one the role or user already has.
BOUNDARY_EXISTING = frozenset(
    f"iam:{verb}{kind}{what}"
    for kind in ("Role", "User")
    for verb, what in (
        ("Attach", "Policy"),
        ("Detach", "Policy"),
        ("Put", "Policy"),
        ("Delete", "Policy"),
        ("Delete", "PermissionsBoundary"),
    )
)


def iam_request(action: str, params: Params, account: str, iam_backend: Any) -> Request:
    """An IAM call: on the role (with its path and tags), user or policy it names."""
    context: dict[str, tuple[str, ...]] = {}
    if "PolicyArn" in params and action in POLICY_ARN_ACTIONS:
        context["iam:policyarn"] = (str(params["PolicyArn"]),)
    if params.get("PermissionsBoundary") and action in BOUNDARY_REQUESTED:
        context["iam:permissionsboundary"] = (str(params["PermissionsBoundary"]),)
    tags, removed = query_tags(params)
    context.update(request_tags(tags, removed))
    if "RoleName" in params:
        name = str(params["RoleName"])
        resource = f"arn:aws:iam::{account}:role/{name}"
        try:
            role = iam_backend.get_role(name)
        except Exception:  # a missing role: AWS still authorizes on its would-be ARN
            role = None
        if role is not None:
            resource = str(role.arn)
            context.update(tag_context("Resource", role_tags(role)))
            boundary = getattr(role, "permissions_boundary_arn", None)
            if boundary and action in BOUNDARY_EXISTING:
                context["iam:permissionsboundary"] = (str(boundary),)
        return Request(action, resource, context)
    if "UserName" in params:
        return Request(action, f"arn:aws:iam::{account}:user/{params['UserName']}", context)
    if "PolicyArn" in params:
        return Request(action, str(params["PolicyArn"]), context)
    return Request(action, "*", context)


def logs_request(action: str, params: Params, region: str, account: str) -> Request:
    operation = action.split(":", 1)[1]
    group = params.get("logGroupName")
    if not group or operation == "DescribeLogGroups":
        return Request(action, "*", request_tags(dict(params.get("tags") or {})))
    base = f"arn:aws:logs:{region}:{account}:log-group:{group}"
    if "LogStream" in operation or "LogEvents" in operation:
        stream = params.get("logStreamName") or "*"
        return Request(action, f"{base}:log-stream:{stream}")
    context = request_tags(dict(params.get("tags") or {}))
    # The log-group resource type takes aws:ResourceTag/* (Service Authorization Reference,
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html).
    context.update(tag_context("Resource", log_group_tags(str(group), region, account)))
    return Request(action, f"{base}:*", context)


def log_group_tags(group: str, region: str, account: str) -> dict[str, str]:
    from moto.logs.models import logs_backends

    backend = logs_backends[account][region]
    found = backend.groups.get(group)
    return dict(backend.list_tags_for_resource(found.arn)) if found is not None else {}


# SQS batch calls are authorized as their single-message IAM action (they are not IAM actions).
_SQS_BATCH = {
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:SendMessageBatch": "sqs:SendMessage",
}


def sqs_request(action: str, params: Params, region: str, account: str) -> Request:
    """On the queue's ARN: from QueueUrl (.../ACCOUNT/NAME), or QueueName (+ owner account)."""
    action = _SQS_BATCH.get(action, action)
    url = str(params.get("QueueUrl") or "")
    if url:
        owner, name = url.rstrip("/").split("/")[-2:]
        return Request(action, f"arn:aws:sqs:{region}:{owner}:{name}")
    if params.get("QueueName"):
        owner = str(params.get("QueueOwnerAWSAccountId") or account)
        return Request(action, f"arn:aws:sqs:{region}:{owner}:{params['QueueName']}")
    return Request(action, "*")


def sns_request(action: str, params: Params) -> Request:
    return Request(action, str(params.get("TopicArn") or params.get("ResourceArn") or "*"))


def securityhub_requests(action: str, params: Params, region: str, account: str) -> list[Request]:
    """What IAM authorizes a Security Hub call on (Service Authorization Reference): the
    product of every imported finding, the account's hub for the other calls we make."""
    if action == "securityhub:BatchImportFindings":
        products = sorted({str(f.get("ProductArn", "*")) for f in params.get("Findings") or []})
        return [Request(action, product) for product in products or ["*"]]
    return [Request(action, f"arn:aws:securityhub:{region}:{account}:hub/default")]


def dynamodb_requests(action: str, params: Params, region: str, account: str) -> list[Request]:
    """On the table's ARN (Service Authorization Reference, Amazon DynamoDB: item actions on
    `table`); BatchGetItem/BatchWriteItem on each table they name."""
    names = [str(params["TableName"])] if params.get("TableName") else []
    names += sorted(params.get("RequestItems") or {})
    return [
        Request(action, f"arn:aws:dynamodb:{region}:{account}:table/{name}")
        for name in names or ["*"]
    ]


def flink_request(
    operation: str, body: Params, resource: str, resource_tags: Mapping[str, str]
) -> Request:
    context = tag_context("Resource", resource_tags)
    if operation in ("TagResource", "CreateApplication"):
        tags = {str(t["Key"]): str(t.get("Value", "")) for t in body.get("Tags") or []}
        context.update(request_tags(tags))
    elif operation == "UntagResource":
        context.update(request_tags({}, tuple(str(k) for k in body.get("TagKeys") or [])))
    return Request(f"kinesisanalytics:{operation}", resource, context)


def flink_key(body: Params) -> str:
    """The customer managed key a Create/UpdateApplication asks Managed Flink to use ('' none)."""
    config = body.get("ApplicationConfiguration") or {}
    update = body.get("ApplicationConfigurationUpdate") or {}
    encryption = config.get("ApplicationEncryptionConfiguration") or {}
    change = update.get("ApplicationEncryptionConfigurationUpdate") or {}
    if change.get("KeyTypeUpdate") == "CUSTOMER_MANAGED_KEY":
        return str(change.get("KeyIdUpdate") or "")
    if encryption.get("KeyType") == "CUSTOMER_MANAGED_KEY":
        return str(encryption.get("KeyId") or "")
    return ""


def kms_requests_by_flink(key: str, region: str, account: str) -> list[Request]:
    """What Managed Flink asks KMS with the caller's permissions (forward access) for `key`."""
    arn = key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key}"
    via = {"kms:viaservice": (f"kinesisanalytics.{region}.amazonaws.com",)}
    return [
        Request("kms:DescribeKey", arn, via),
        Request("kms:CreateGrant", arn, {**via, "kms:grantisforawsresource": ("true",)}),
    ]
