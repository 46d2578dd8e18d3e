"""Every policy type together, in the order of AWS's policy evaluation logic:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html

1. an explicit Deny in any applicable policy (SCP, resource-based, identity-based, permissions
   boundary, session policy) decides;
2. SCPs (principals of member accounts only; service principals are not subject to them): each
   level of the organization (root, each OU, the account) needs an Allow;
3. a resource-based policy in the same account that allows the caller's own ARN (an IAM user, a
   role session) allows, whatever the identity policies, boundary and session policies say; one
   that names the session's role counts as an identity Allow (boundary and session policy still
   apply); one that names the account only delegates to the identity policies. A KMS key policy
   is required: the key must allow the caller or the account (which enables IAM policies);
4. otherwise an identity-based policy must allow, then the permissions boundary (when set) and
   the session policy (when passed) must allow too;
5. across accounts both the resource-based policy and the caller's own policies must allow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.iam_conditions import as_list
from sandbox.iam_eval import (
    Decision,
    Request,
    effects,
    statement_applies,
    statements,
    uses_variables,
)

Policy = Mapping[str, Any]
Grant = Literal["none", "caller", "role", "account"]


@dataclass(frozen=True)
class Caller:
    """Who sends the request: `arn` (user, assumed-role session, or a service principal's
    name like events.amazonaws.com), its `account`, and for sessions the role's ARN."""

    arn: str
    account: str
    role_arn: str | None = None
    service: bool = False


@dataclass(frozen=True)
class Policies:
    identity: tuple[Policy, ...] = ()
    boundary: Policy | None = None
    session: tuple[Policy, ...] | None = None  # None: no session policy was passed
    scp_levels: tuple[tuple[Policy, ...], ...] = ()  # empty: the account is not under SCPs
    resource: Policy | None = None
    resource_account: str | None = None  # the account owning the resource
    resource_required: bool = False  # KMS: the key policy must allow


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    policy_type: str = ""  # which kind of policy decided ("" for allow)

    def explain(self, action: str) -> str:
        """The tail of AWS's AccessDenied message."""
        if self.decision == "explicit_deny":
            return f"with an explicit deny in a {self.policy_type}"
        return f"because no {self.policy_type} allows the {action} action"


def principal_grant(statement: Mapping[str, Any], caller: Caller) -> Grant:
    """How a resource-based statement's Principal names the caller."""
    if "NotPrincipal" in statement:
        excluded = principal_grant({"Principal": statement["NotPrincipal"]}, caller)
        return "caller" if excluded == "none" else "none"
    principal = statement.get("Principal")
    if principal == "*":
        return "caller"
    if not isinstance(principal, Mapping):
        return "none"
    if caller.service:
        return "caller" if caller.arn in as_list(principal.get("Service", [])) else "none"
    named = [str(p) for p in as_list(principal.get("AWS", []))]
    if "*" in named or caller.arn in named:
        return "caller"
    if caller.role_arn is not None and caller.role_arn in named:
        return "role"
    root = f"arn:aws:iam::{caller.account}:root"
    return "account" if caller.account in named or root in named else "none"


_RANK: tuple[Grant, ...] = ("none", "account", "role", "caller")


def _resource_effects(policy: Policy, caller: Caller, request: Request) -> tuple[bool, Grant]:
    """(a statement naming the caller denies, the strongest grant of an Allow naming it)."""
    denied, best = False, _RANK[0]
    for statement in statements(policy):
        grant = principal_grant(statement, caller)
        if grant == "none" or not statement_applies(statement, request, uses_variables(policy)):
            continue
        if statement.get("Effect") == "Deny":
            denied = True
        elif statement.get("Effect") == "Allow" and _RANK.index(grant) > _RANK.index(best):
            best = grant
    return denied, best


def decide(policies: Policies, caller: Caller, request: Request) -> Verdict:
    layers: list[tuple[str, Sequence[Policy]]] = [
        ("service control policy", [p for level in policies.scp_levels for p in level]),
        ("identity-based policy", policies.identity),
        ("permissions boundary", [policies.boundary] if policies.boundary else []),
        ("session policy", policies.session or ()),
    ]
    if caller.service:  # a service principal: only the resource-based policy applies
        layers = []
    for name, layer in layers:
        if effects(layer, request)[0]:
            return Verdict("explicit_deny", name)
    grant: Grant = "none"
    if policies.resource is not None:
        denied, grant = _resource_effects(policies.resource, caller, request)
        if denied:
            return Verdict("explicit_deny", "resource-based policy")
    if caller.service:
        allowed = grant == "caller"
        return Verdict("allow") if allowed else Verdict("implicit_deny", "resource-based policy")
    for level in policies.scp_levels:
        if not effects(level, request)[1]:
            return Verdict("implicit_deny", "service control policy")
    same_account = policies.resource_account in (None, caller.account)
    if policies.resource_required and grant == "none":
        return Verdict("implicit_deny", "resource-based policy")
    if same_account and grant == "caller":
        return Verdict("allow")
    if not same_account and grant == "none" and policies.resource is not None:
        return Verdict("implicit_deny", "resource-based policy")
    resource_grants_identity = same_account and grant == "role"
    identity_allows = resource_grants_identity or effects(policies.identity, request)[1]
    if not identity_allows:
        return Verdict("implicit_deny", "identity-based policy")
    if policies.boundary is not None and not effects([policies.boundary], request)[1]:
        return Verdict("implicit_deny", "permissions boundary")
    if policies.session is not None and not effects(policies.session, request)[1]:
        return Verdict("implicit_deny", "session policy")
    return Verdict("allow")
