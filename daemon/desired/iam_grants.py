"""The write statements of each rule where it enforces, and the role writes the policy denies on
the daemon's own role.

Each rule declares its grants itself (`Rule.grants`, built from `remediations.grants`): which
resources, under which conditions, from its settings in every place where it enforces. This
module names the statements and asks the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remediations.base import AnyRule
from remediations.grants import FLINK as FLINK
from remediations.grants import Scope as Scope
from remediations.grants import Statement as Statement
from remediations.grants import allow as allow

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


def rule_writes(rule: AnyRule, scope: Scope, places: Sequence[Any]) -> list[Statement]:
    """The statements granting `rule`'s writes where it enforces (`places`: its settings in
    each such place), named `Fix<RuleId>...`."""
    sid = "Fix" + "".join(part.title() for part in rule.id.split("_"))
    return rule.grants(sid, scope, places)
