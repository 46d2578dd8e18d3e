"""The building blocks of a rule's IAM grants: where the daemon acts (`Scope`) and the statements
a rule's `grants` returns. Pure: the daemon's policy (`daemon.desired.iam_policy`) asks each
enforcing rule for its statements with the rule's settings in every place it enforces.

A rule grants only the writes its calls need, as narrowly as IAM allows: on the applications of
the configured Regions (`application_writes`), on the execution roles only (`role_writes`), on
the configured log groups (`log_groups`), with conditions where IAM has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from daemon.errors import ConfigError

Statement = dict[str, Any]
FLINK = "kinesisanalytics"


class RoleTag(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...


class ExecutionRoles(Protocol):
    """The config's `execution_roles`: the roles the daemon may change (path and/or tag)."""

    @property
    def path(self) -> str | None: ...
    @property
    def tag(self) -> RoleTag | None: ...


@dataclass(frozen=True)
class Scope:
    """Where the daemon acts: the config's accounts, Regions and execution roles."""

    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    execution_roles: ExecutionRoles | None = None

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


def application_writes(actions: Iterable[str], scope: Scope) -> list[Statement]:
    """The Managed Flink writes among `actions` (TagResource aside: it has its own condition) on
    the configured Regions' applications; one statement shared by every rule."""
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


def log_groups(scope: Scope, log_stream_arns: Iterable[str]) -> set[str]:
    """The log groups of each configured stream ARN, up to {application}."""
    groups = set()
    for stream_arn in log_stream_arns:
        group_arn = stream_arn.split(":log-stream:")[0]
        head, brace, _ = group_arn.partition("{application}")
        groups.update(scope.per_place(head + ("*" if brace else ":*")))
        if not brace:
            groups.update(scope.per_place(head))
    return groups


# A log group the daemon creates carries the managed tag (CreateLogGroup with tags also needs
# logs:TagResource: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html),
# and retention is set only on groups carrying it: stolen credentials cannot shorten the
# retention of a group someone else made (set it to 1 day and the logs are gone).
MANAGED_LOG_GROUP_TAG = ("flink-remediator/managed", "true")
CREATED_TAGGED = {"StringEquals": {f"aws:RequestTag/{MANAGED_LOG_GROUP_TAG[0]}": "true"}}
CARRIES_TAG = {"StringEquals": {f"aws:ResourceTag/{MANAGED_LOG_GROUP_TAG[0]}": "true"}}
RETENTION = "logs:PutRetentionPolicy"
TAG_AT_CREATION = ("logs:CreateLogGroup", "logs:TagResource")
