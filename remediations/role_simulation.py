"""What an application needs from its execution role, and whether a role change would take it.

Before execution_role_permissions detaches a policy or puts a permissions boundary, it
simulates the role AFTER the change with iam:SimulateCustomPolicy: the remaining identity
policy documents as PolicyInputList, the boundary (the kept or the new one) as
PermissionsBoundaryPolicyInputList. SimulatePrincipalPolicy would only simulate the role's
current policies (its PolicyInputList adds policies, it cannot take one away), so it cannot
answer "after the change".
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html

The needs (AWS's execution role guidance, AWS-FACTS):
- s3:GetObject (and s3:GetObjectVersion when the code pins ObjectVersion) on the code object;
- logs:PutLogEvents on the log stream, logs:DescribeLogStreams on its group's streams,
  logs:DescribeLogGroups on the account's groups (the service's example policy):
  https://docs.aws.amazon.com/managed-flink/latest/java/cloudwatch-logs.html
- the VPC actions on `*` when the app runs in a VPC:
  https://docs.aws.amazon.com/managed-flink/latest/java/vpc-permissions.html
- kms:Decrypt and kms:GenerateDataKey on the customer managed key that encrypts the app.
A permission the role lacks already is not one the change removes: only the difference counts.
Only identity policies and the boundary are simulated: a bucket or key policy that grants the
role itself is not seen, so the answer errs on the side of not changing the role.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from daemon import errors
from daemon.state import AppRef
from remediations import iam_documents as docs
from remediations.app_config import section
from remediations.base import Reader

VPC_ACTIONS = (
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeDhcpOptions",
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
)
CONFIG = ("ApplicationConfigurationDescription",)
CODE = (
    *CONFIG,
    "ApplicationCodeConfigurationDescription",
    "CodeContentDescription",
    "S3ApplicationCodeLocationDescription",
)
ENCRYPTION = (*CONFIG, "ApplicationEncryptionConfigurationDescription")


@dataclass(frozen=True)
class Need:
    actions: tuple[str, ...]
    resource: str


def needs_of(detail: Mapping[str, Any]) -> list[Need]:
    """What the application described by `detail` needs from its execution role."""
    arn = str(detail.get("ApplicationARN", ""))
    parts = arn.split(":")
    region, account = (parts[3], parts[4]) if len(parts) > 4 else ("*", "*")
    found: list[Need] = []
    code = section(detail, CODE)
    if code.get("BucketARN"):
        actions = ("s3:GetObject", "s3:GetObjectVersion") if code.get("ObjectVersion") else ()
        found.append(
            Need(actions or ("s3:GetObject",), f"{code['BucketARN']}/{code.get('FileKey', '')}")
        )
    for option in detail.get("CloudWatchLoggingOptionDescriptions") or ():
        stream = str(option.get("LogStreamARN", ""))
        group = stream.split(":log-stream:")[0]
        found += [
            Need(("logs:PutLogEvents",), stream),
            Need(("logs:DescribeLogStreams",), f"{group}:log-stream:*"),
            Need(("logs:DescribeLogGroups",), f"arn:aws:logs:{region}:{account}:log-group:*"),
        ]
    if section(detail, CONFIG).get("VpcConfigurationDescriptions"):
        found.append(Need(VPC_ACTIONS, "*"))
    encryption = section(detail, ENCRYPTION)
    key = str(encryption.get("KeyId") or "")
    if encryption.get("KeyType") == "CUSTOMER_MANAGED_KEY" and key:
        key = key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key}"
        found.append(Need(("kms:Decrypt", "kms:GenerateDataKey"), key))
    return list(dict.fromkeys(found))


def _denied(
    read: Reader, policies: Sequence[docs.Document], boundary: docs.Document | None, need: Need
) -> set[str]:
    if not policies:
        return {f"{a} on {need.resource}" for a in need.actions}
    params: dict[str, Any] = {
        "PolicyInputList": [json.dumps(p, sort_keys=True) for p in policies],
        "ActionNames": list(need.actions),
        "ResourceArns": [need.resource],
    }
    if boundary is not None:
        params["PermissionsBoundaryPolicyInputList"] = [json.dumps(boundary, sort_keys=True)]
    results = read("iam", "SimulateCustomPolicy", **params)["EvaluationResults"]
    return {
        f"{r['EvalActionName']} on {r['EvalResourceName']}"
        for r in results
        if r["EvalDecision"] != "allowed"
    }


def removed(
    read: Reader,
    needs: Sequence[Need],
    before: tuple[Sequence[docs.Document], docs.Document | None],
    after: tuple[Sequence[docs.Document], docs.Document | None],
) -> tuple[str, ...]:
    """The needed permissions the role has `before` and would not have `after` (policies,
    boundary); a simulation that fails is itself the answer: nothing may be changed."""
    try:
        lost: set[str] = set()
        for need in needs:
            lost |= _denied(read, *after, need) - _denied(read, *before, need)
    except errors.UndeclaredAction:
        raise
    except errors.PermanentAwsError as exc:  # AccessDenied, a document IAM refuses
        return (f"(cannot simulate the change: {exc})",)
    return tuple(sorted(lost))


def policy_document(read: Reader, arn: str) -> docs.Document | None:
    """The default version's document of managed policy `arn` (None: it is gone)."""
    try:
        version = read("iam", "GetPolicy", PolicyArn=arn)["Policy"]["DefaultVersionId"]
        got = read("iam", "GetPolicyVersion", PolicyArn=arn, VersionId=version)
    except errors.ResourceNotFound:
        return None
    return docs.load(got["PolicyVersion"]["Document"])


@dataclass(frozen=True)
class RoleChange:
    policies: Mapping[str, docs.Document]  # every identity policy: attached ARN or inline name
    boundary: str | None  # the role's permissions boundary ARN (kept by a detach)
    detach: tuple[str, ...]  # policy ARNs, in order: each tried after the ones found safe
    new_boundary: str | None = None  # the boundary ARN to put


def losses_for_apps(
    read: Reader,
    app: AppRef,
    detail: Mapping[str, Any],
    apps: Sequence[AppRef],
    change: RoleChange,
) -> dict[str, tuple[str, ...]]:
    """Policy ARN to detach / boundary ARN to put -> what the apps using the role (this one,
    and the others in its account and Region: DescribeApplication) would lose by it."""
    needs = needs_of(detail)
    for other in apps:
        if other.name != app.name and (other.account, other.region) == (app.account, app.region):
            got = read("kinesisanalyticsv2", "DescribeApplication", ApplicationName=other.name)
            needs += needs_of(got["ApplicationDetail"])
    needs = list(dict.fromkeys(needs))
    kept = policy_document(read, change.boundary) if change.boundary else None
    before = (list(change.policies.values()), kept)
    out: dict[str, tuple[str, ...]] = {}
    remaining = dict(change.policies)
    for arn in change.detach:
        trial = {key: d for key, d in remaining.items() if key != arn}
        out[arn] = removed(read, needs, before, (list(trial.values()), kept))
        if not out[arn]:
            remaining = trial
    if change.new_boundary:
        new = policy_document(read, change.new_boundary)
        if new is None:
            out[change.new_boundary] = (f"(boundary policy {change.new_boundary} not found)",)
        else:
            after = (list(change.policies.values()), new)
            out[change.new_boundary] = removed(read, needs, before, after)
    return out
