"""The write statements of each rule: which resources, under which conditions.

A rule declares its write actions; this module decides how narrowly IAM may grant them, from
the rule's settings in every place where the rule enforces (`variants`). One small function per
rule that needs more than "its application writes on the applications of the configured
Regions"; a rule writing outside Managed Flink without a function here is refused, so a new
rule cannot silently get an unscoped grant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from daemon.desired.model import ExecutionRolesModel
from daemon.errors import ConfigError
from remediations.cloudwatch_logging import MANAGED_LOG_GROUP_TAG

Statement = dict[str, Any]

FLINK = "kinesisanalytics"
# Every IAM call that changes a role: denied on the daemon's own role whatever else allows.
ROLE_WRITES = (
    "iam:AttachRolePolicy",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)


@dataclass(frozen=True)
class Scope:
    """Where the daemon acts: the config's accounts, Regions and execution roles."""

    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    execution_roles: ExecutionRolesModel | None = None

    def per_place(self, template: str) -> list[str]:
        return sorted(
            {template.format(account=a, region=r) for a in self.accounts for r in self.regions}
        )

    def applications(self) -> list[str]:
        return self.per_place("arn:aws:kinesisanalytics:{region}:{account}:application/*")


def allow(
    sid: str, actions: Iterable[str], resources: Iterable[str], **condition: Any
) -> Statement:
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": sorted(set(resources)),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def flink_writes(sid: str, actions: Iterable[str], scope: Scope) -> list[Statement]:
    """Application writes on the configured Regions' applications; one statement shared by every
    rule (`sid` is unused: kept so each rule function reads alike)."""
    wanted = [a for a in actions if a.startswith(f"{FLINK}:") and a != f"{FLINK}:TagResource"]
    return [allow("FixApplications", wanted, scope.applications())] if wanted else []


def role_writes(sid: str, actions: Sequence[str], scope: Scope, **condition: Any) -> Statement:
    """Role writes only on the execution roles (path and/or tag): never on every role."""
    roles = scope.execution_roles
    if roles is None:
        raise ConfigError(
            "",
            [
                f"execution_roles: required while a rule writes {', '.join(actions)} "
                "(set `path` and/or `tag` of the roles the daemon may change)"
            ],
        )
    path = roles.path or "/"
    resources = [f"arn:aws:iam::{a}:role{path}*" for a in scope.accounts]
    if roles.tag is not None:
        tags = {f"aws:ResourceTag/{roles.tag.key}": roles.tag.value}
        condition = {**condition, "StringEquals": {**condition.get("StringEquals", {}), **tags}}
    return allow(sid, actions, resources, **condition)


def policy_arn_patterns(entries: Iterable[str]) -> list[str]:
    """A forbidden entry is a full policy ARN, or the name of an AWS managed policy (at any
    path, as the rule matches it)."""
    patterns: set[str] = set()
    for entry in entries:
        if entry.startswith("arn:"):
            patterns.add(entry)
        else:
            patterns |= {f"arn:aws:iam::aws:policy/{entry}", f"arn:aws:iam::aws:policy/*/{entry}"}
    return sorted(patterns)


# ---- per rule ---------------------------------------------------------------------------------

Grant = Callable[[str, Sequence[str], Scope, Sequence[Any]], list[Statement]]


def log_groups(scope: Scope, variants: Sequence[Any]) -> set[str]:
    """The log groups of each configured stream ARN (`log_stream_arn`), up to {application}."""
    groups = set()
    for settings in variants:
        group_arn = str(settings.log_stream_arn).split(":log-stream:")[0]
        head, brace, _ = group_arn.partition("{application}")
        groups.update(scope.per_place(head + ("*" if brace else ":*")))
        if not brace:
            groups.update(scope.per_place(head))
    return groups


# A log group is created with the managed tag (CreateLogGroup with tags also needs
# logs:TagResource: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html),
# and retention is set only on groups carrying it: stolen credentials cannot shorten the
# retention of a group someone else made (set it to 1 day and the logs are gone).
_TAG_KEY, _TAG_VALUE = MANAGED_LOG_GROUP_TAG
CREATED_TAGGED = {"StringEquals": {f"aws:RequestTag/{_TAG_KEY}": _TAG_VALUE}}
CARRIES_TAG = {"StringEquals": {f"aws:ResourceTag/{_TAG_KEY}": _TAG_VALUE}}
RETENTION = "logs:PutRetentionPolicy"
TAG_AT_CREATION = ("logs:CreateLogGroup", "logs:TagResource")


def cloudwatch_logging(
    sid: str, writes: Sequence[str], scope: Scope, variants: Sequence[Any]
) -> list[Statement]:
    groups = log_groups(scope, variants)
    others = [a for a in writes if a.startswith("logs:") and a not in (RETENTION, *TAG_AT_CREATION)]
    out = [*flink_writes(sid, writes, scope), allow(f"{sid}Logs", others, groups)]
    if "logs:CreateLogGroup" in writes:
        out.append(allow(f"{sid}Create", TAG_AT_CREATION, groups, **CREATED_TAGGED))
    if RETENTION in writes:
        out.append(allow(f"{sid}Retention", [RETENTION], groups, **CARRIES_TAG))
    return out


def log_protection(
    sid: str, writes: Sequence[str], scope: Scope, variants: Sequence[Any]
) -> list[Statement]:
    # Only on the applications' log groups (the configured prefix) that carry the managed tag
    # (created by the daemon, or tagged by their owner); the key is the service's to use (its
    # key policy), the daemon needs no KMS permission to associate it.
    groups = log_groups(scope, variants)
    out = [allow(sid, [RETENTION], groups, **CARRIES_TAG)]
    if any(s.kms_key_arn for s in variants):
        out.append(allow(f"{sid}Key", ["logs:AssociateKmsKey"], groups))
    return out


def encryption(
    sid: str, writes: Sequence[str], scope: Scope, variants: Sequence[Any]
) -> list[Statement]:
    keys = {str(s.key_id) for s in variants if s.key_id}
    if not keys:  # no key configured: the rule only reports
        return []
    aliases = sorted(k for k in keys if k.startswith("alias/") or ":alias/" in k)
    if aliases:  # KMS authorizes on the key's ARN: an alias cannot scope the grant
        raise ConfigError("", [f"rules.encryption.key_id: give the key's ARN, not {aliases[0]}"])
    arns = sorted({arn for k in keys for arn in _key_arns(k, scope)})
    via = {"kms:ViaService": scope.per_place(f"{FLINK}.{{region}}.amazonaws.com")}
    return [
        *flink_writes(sid, writes, scope),
        allow(f"{sid}KeyDescribe", ["kms:DescribeKey"], arns, StringEquals=via),
        allow(
            f"{sid}KeyGrant",
            ["kms:CreateGrant"],
            arns,
            StringEquals=via,
            Bool={"kms:GrantIsForAWSResource": "true"},
        ),
    ]


def _key_arns(key: str, scope: Scope) -> list[str]:
    if key.startswith("arn:"):
        return [key]
    return scope.per_place(f"arn:aws:kms:{{region}}:{{account}}:key/{key}")


def required_tags(
    sid: str, writes: Sequence[str], scope: Scope, variants: Sequence[Any]
) -> list[Statement]:
    # The fix adds only tags that have a default: TagResource may set those keys and no other.
    keys = sorted({k for s in variants for k, req in s.tags.items() if req.default is not None})
    if not keys:
        return []
    condition = {
        "ForAllValues:StringEquals": {"aws:TagKeys": keys},
        "Null": {"aws:TagKeys": "false"},
    }
    return [allow(sid, [f"{FLINK}:TagResource"], scope.applications(), **condition)]


def execution_role_trust(
    sid: str, writes: Sequence[str], scope: Scope, variants: Sequence[Any]
) -> list[Statement]:
    return [role_writes(sid, ["iam:UpdateAssumeRolePolicy"], scope)]


def execution_role_permissions(
    sid: str, writes: Sequence[str], scope: Scope, variants: Sequence[Any]
) -> list[Statement]:
    out: list[Statement] = []
    detaching = [s for s in variants if s.strategy == "detach"]
    if detaching:
        arns = policy_arn_patterns(p for s in detaching for p in s.forbidden_managed_policies)
        condition = {"ArnEquals": {"iam:PolicyARN": arns}}
        out.append(role_writes(f"{sid}Detach", ["iam:DetachRolePolicy"], scope, **condition))
    boundaries = sorted({s.boundary_policy_arn for s in variants if s.strategy == "boundary"})
    if boundaries:
        condition = {"ArnEquals": {"iam:PermissionsBoundary": boundaries}}
        actions = ["iam:PutRolePermissionsBoundary"]
        out.append(role_writes(f"{sid}Boundary", actions, scope, **condition))
    return out


def recovery_point(
    sid: str, writes: Sequence[str], scope: Scope, variants: Sequence[Any]
) -> list[Statement]:
    # Snapshots are taken only with a schedule and deleted only with a retention.
    actions = [f"{FLINK}:CreateApplicationSnapshot"] if any(s.schedule for s in variants) else []
    if any(s.retain for s in variants):
        actions.append(f"{FLINK}:DeleteApplicationSnapshot")
    return flink_writes(sid, actions, scope)


GRANTS: dict[str, Grant] = {
    "cloudwatch_logging": cloudwatch_logging,
    "encryption": encryption,
    "log_protection": log_protection,
    "recovery_point": recovery_point,
    "required_tags": required_tags,
    "execution_role_trust": execution_role_trust,
    "execution_role_permissions": execution_role_permissions,
}


def rule_writes(
    rule_id: str, writes: Sequence[str], scope: Scope, variants: Sequence[Any]
) -> list[Statement]:
    """The statements granting `rule_id`'s writes where it enforces (`variants`: its settings
    in each such place)."""
    sid = "Fix" + "".join(part.title() for part in rule_id.split("_"))
    grant = GRANTS.get(rule_id)
    if grant is not None:
        return grant(sid, writes, scope, variants)
    unscoped = [a for a in writes if not a.startswith(f"{FLINK}:") or a.endswith(":TagResource")]
    if unscoped:
        raise ConfigError(
            "",
            [
                f"rules.{rule_id}: no IAM scope known for {', '.join(unscoped)}"
                " (add one to iam_grants)"
            ],
        )
    return flink_writes(sid, writes, scope)
