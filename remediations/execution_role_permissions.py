"""execution_role_permissions: the execution role holds no broad permissions.

Findings: attached managed policies on a configurable forbidden list (AWS managed policy names, or
full policy ARNs for any policy), and Allow statements in inline or customer-managed policies
(default version) with Action `*` or `service:*`, with NotAction, or granting iam:PassRole on `*`.

Strategies (setting `strategy`, per selector through the config's overrides):
- `detach`: DetachRolePolicy for each forbidden managed policy. Inline and customer-managed
  findings are reported only (fixable=False), offending statements quoted: inline policies are
  never deleted or rewritten, and a customer policy may hold what the app needs (list its ARN in
  `forbidden_managed_policies` to have it detached).
- `boundary`: PutRolePermissionsBoundary with `boundary_policy_arn` when the role has a finding
  and no boundary. Reversible, and it narrows every policy without rewriting any, so once that
  boundary is in place the findings count as contained. A role with a different boundary is
  reported, not changed: replacing a boundary could widen what the role may do.
- `alert`: report everything, change nothing.

A role is shared: every message names the applications using it, and nothing is written while
the inventory is incomplete (the plan could not say whom the change affects).

Before a detach or a boundary, the role after the change is simulated (role_simulation.py,
iam:SimulateCustomPolicy) for what the applications using it need (their code object, log
stream, VPC interfaces, CMK; those in this account and Region): a change that would remove one
is not made, and the finding names the permission it would have removed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import Field, model_validator

from daemon import errors
from daemon.state import AppRef, Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations import iam_documents as docs
from remediations import role_simulation as simulation
from remediations.base import ANY_APPLICATION, Reader, Rule, RuleSettings
from remediations.grants import Scope, Statement, role_writes

DEFAULT_FORBIDDEN = (
    "AdministratorAccess",
    "PowerUserAccess",
    "AmazonKinesisAnalyticsFullAccess",
    "IAMFullAccess",
    "AmazonS3FullAccess",
)
_SERVICE_WILDCARD = re.compile(r"[A-Za-z0-9-]+:\*")
_POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+")
ATTACHED, INLINE, CUSTOMER, BOUNDARY = (
    "AttachedPolicies",
    "InlinePolicies",
    "CustomerPolicies",
    "PermissionsBoundary",
)


class Settings(RuleSettings):
    forbidden_managed_policies: tuple[str, ...] = Field(
        default=DEFAULT_FORBIDDEN,
        description="AWS managed policy names, or full policy ARNs, that must not be attached.",
    )
    strategy: Literal["detach", "boundary", "alert"] = Field(
        default="detach",
        description="detach forbidden policies, put a permissions boundary, or alert.",
    )
    boundary_policy_arn: str | None = Field(
        default=None, description="Policy ARN put as permissions boundary (strategy: boundary)."
    )

    @model_validator(mode="after")
    def _boundary_is_configured(self) -> Settings:
        if self.strategy == "boundary" and not self.boundary_policy_arn:
            raise ValueError("strategy boundary needs boundary_policy_arn")
        if self.boundary_policy_arn and not _POLICY_ARN.fullmatch(self.boundary_policy_arn):
            raise ValueError("boundary_policy_arn must be an IAM policy ARN")
        return self

    def forbids(self, policy_arn: str) -> bool:
        aws_managed = ":iam::aws:policy/" in policy_arn
        return any(
            entry == policy_arn
            or (aws_managed and not entry.startswith("arn:") and policy_arn.endswith(f"/{entry}"))
            for entry in self.forbidden_managed_policies
        )


def broad_reasons(statement: Mapping[str, Any]) -> list[str]:
    """Why an Allow statement is too broad for an execution role ([] when it is not)."""
    if not docs.is_allow(statement):
        return []
    reasons = ["NotAction"] if "NotAction" in statement else []
    actions = [str(a) for a in docs.as_list(statement.get("Action"))]
    reasons += [f"Action {a}" for a in actions if a == "*" or _SERVICE_WILDCARD.fullmatch(a)]
    if docs.grants(statement, "iam:PassRole") and "*" in docs.as_list(statement.get("Resource")):
        reasons.append("iam:PassRole on Resource *")
    return reasons


def offending(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in docs.statements(document) if broad_reasons(s)]


def quote(statements: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{json.dumps(s, sort_keys=True)} ({', '.join(broad_reasons(s))})" for s in statements
    )


def _pages(read: Reader, operation: str, key: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    marker: str | None = None
    while True:
        page = read("iam", operation, **params, **({"Marker": marker} if marker else {}))
        items.extend(page.get(key, []))
        marker = page.get("Marker") if page.get("IsTruncated") else None
        if not marker:
            return items


_name = docs.resource_name


@dataclass(frozen=True)
class RolePolicies:
    role_arn: str
    boundary: str | None  # the permissions boundary's policy ARN
    attached: tuple[str, ...]  # managed policy ARNs
    inline: Mapping[str, docs.Document]  # inline policy name -> document
    customer: Mapping[str, docs.Document]  # customer managed policy ARN -> default version
    apps: tuple[str, ...] | None  # names of every app using the role; None: inventory incomplete
    # Policy ARN to detach, or the boundary ARN to put -> the needed permissions it would remove.
    losses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class ExecutionRolePermissions(Rule[Settings, RolePolicies]):
    summary = "The execution role has no broad managed policies or statements."
    severity = "HIGH"
    read_actions = (
        "iam:GetRole",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:SimulateCustomPolicy",
        "kinesisanalytics:DescribeApplication",  # the needs of the other apps using the role
    )
    write_actions = ("iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary")
    # IAM role/policy events (AWS-FACTS), and an application starting to use a role.
    trigger_events = frozenset(
        {
            "PutRolePolicy",
            "DeleteRolePolicy",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "PutRolePermissionsBoundary",
            "DeleteRolePermissionsBoundary",
            "CreatePolicyVersion",
            "SetDefaultPolicyVersion",
            "CreateApplication",
            "UpdateApplication",
        }
    )
    applies_to = ANY_APPLICATION  # every application that has an execution role

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.execution_role(detail)

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        out: list[Statement] = []
        detaching = [s for s in places if s.strategy == "detach"]
        if detaching:
            arns = policy_arn_patterns(p for s in detaching for p in s.forbidden_managed_policies)
            condition = {"ArnEquals": {"iam:PolicyARN": arns}}
            out.append(role_writes(f"{sid}Detach", ["iam:DetachRolePolicy"], scope, **condition))
        boundaries = sorted(
            {s.boundary_policy_arn or "" for s in places if s.strategy == "boundary"}
        )
        if boundaries:
            condition = {"ArnEquals": {"iam:PermissionsBoundary": boundaries}}
            actions = ["iam:PutRolePermissionsBoundary"]
            out.append(role_writes(f"{sid}Boundary", actions, scope, **condition))
        return out

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> RolePolicies | None:
        role_arn = str(detail.get("ServiceExecutionRole") or "")
        if not role_arn:
            return None
        name = _name(role_arn)
        try:
            role = read("iam", "GetRole", RoleName=name)["Role"]
            attached = _pages(read, "ListAttachedRolePolicies", "AttachedPolicies", RoleName=name)
            inline_names = _pages(read, "ListRolePolicies", "PolicyNames", RoleName=name)
        except errors.ResourceNotFound:
            return None
        inline: dict[str, docs.Document] = {}
        for policy_name in inline_names:
            try:
                got = read("iam", "GetRolePolicy", RoleName=name, PolicyName=policy_name)
            except errors.ResourceNotFound:  # deleted between the list and the get
                continue
            inline[policy_name] = docs.load(got["PolicyDocument"])
        arns = [str(p["PolicyArn"]) for p in attached]
        customer = _documents(read, [a for a in arns if ":iam::aws:policy/" not in a])
        apps = read.apps_using_role(role_arn)
        boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        facts = RolePolicies(
            role_arn=str(role.get("Arn") or role_arn),
            boundary=None if boundary is None else str(boundary),
            attached=tuple(sorted(p["PolicyArn"] for p in attached)),
            inline=inline,
            customer=customer,
            apps=None if apps is None else tuple(sorted(a.name for a in apps)),
        )
        detach = [
            a for a in facts.attached if settings.strategy == "detach" and settings.forbids(a)
        ]
        putting = settings.strategy == "boundary" and not facts.boundary and _broad(settings, facts)
        boundary_arn = settings.boundary_policy_arn if putting else None
        if not detach and not boundary_arn:
            return facts
        # AWS managed documents only now: they matter to the simulation alone.
        policies = {**customer, **_documents(read, [a for a in arns if a not in customer])}
        policies |= {f"inline {n}": d for n, d in inline.items()}
        change = simulation.RoleChange(policies, facts.boundary, tuple(detach), boundary_arn)
        losses = simulation.losses_for_apps(read, app, detail, apps or (), change)
        return replace(facts, losses=losses)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        facts = self.facts(observed)
        if facts is None:
            return ()
        role, app = facts.role_arn, observed.app
        complete = facts.apps is not None
        users = sorted(set(facts.apps or ()) | {app.name})
        where = f"role {_name(role)} (used by {', '.join(users)}"
        where += ")" if complete else "; inventory incomplete: not changed yet)"
        forbidden = [arn for arn in facts.attached if settings.forbids(arn)]
        inline = {n: s for n, d in facts.inline.items() if (s := offending(d))}
        customer = {a: s for a, d in facts.customer.items() if (s := offending(d))}

        def drift(field: str, current: Any, desired: Any, message: str, fixable: bool) -> Drift:
            message = f"{where}: {message}"
            lost = facts.losses.get(str(current if field != BOUNDARY else desired), ())
            if fixable and lost:
                verb = "not detached" if field != BOUNDARY else "boundary not put"
                message += f"; {verb}: the role would lose {', '.join(lost)}"
            fixable = fixable and complete and not lost
            return self.drift(
                observed, field, current, desired, message, fixable=fixable, resource=role
            )

        if settings.strategy == "boundary":
            wanted = settings.boundary_policy_arn
            if not (forbidden or inline or customer) or facts.boundary == wanted:
                return ()
            found = [
                *forbidden,
                *(f"inline {n}: {quote(s)}" for n, s in inline.items()),
                *(f"{a}: {quote(s)}" for a, s in customer.items()),
            ]
            message = f"broad permissions without boundary {wanted}: {found}"
            if facts.boundary:
                message += f"; the role has boundary {facts.boundary}, which is not replaced"
            return (drift(BOUNDARY, facts.boundary, wanted, message, not facts.boundary),)
        detach = settings.strategy == "detach"
        drifts = [
            drift(f"{ATTACHED}.{_name(arn)}", arn, None, f"forbidden policy {arn} attached", detach)
            for arn in forbidden
        ]
        drifts += [
            drift(
                f"{INLINE}.{n}",
                s,
                [],
                f"inline policy {n} has broad statements (never changed automatically): {quote(s)}",
                False,
            )
            for n, s in inline.items()
        ]
        drifts += [
            drift(
                f"{CUSTOMER}.{_name(a)}",
                s,
                [],
                f"customer managed policy {a} has broad statements: {quote(s)}",
                False,
            )
            for a, s in customer.items()
        ]
        return tuple(drifts)

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        calls: list[Call] = []
        for d in drifts:
            if not d.fixable:
                continue
            role = {"RoleName": _name(d.resource)}
            if d.field.startswith(f"{ATTACHED}."):
                params = {**role, "PolicyArn": d.current}
                calls.append(Call("iam", "DetachRolePolicy", params, resource=d.resource))
            elif d.field == BOUNDARY:
                params = {**role, "PermissionsBoundary": d.desired}
                calls.append(Call("iam", "PutRolePermissionsBoundary", params, d.resource))
        return tuple(calls)


def _broad(settings: Settings, facts: RolePolicies) -> bool:
    """Does the role have anything the boundary strategy would contain?"""
    documents = [*facts.inline.values(), *facts.customer.values()]
    return any(settings.forbids(a) for a in facts.attached) or any(offending(d) for d in documents)


def _documents(read: Reader, arns: list[str]) -> dict[str, docs.Document]:
    found = {a: simulation.policy_document(read, a) for a in arns}
    return {a: d for a, d in found.items() if d is not None}


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
