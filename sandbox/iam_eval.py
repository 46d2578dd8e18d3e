"""IAM statement matching with conditions and policy variables, as AWS documents it.

moto evaluates Action and Resource but almost no Condition; this module decides whether a
statement applies to a request the way AWS does:

- Action/NotAction match case-insensitively, Resource/NotResource case-sensitively, `*`/`?`;
- Condition: every operator and every key must hold (AND); any listed value may match (OR); the
  operators are in `sandbox.iam_conditions`;
- policy variables (`${aws:username}`, `${aws:PrincipalTag/team}`, `${key, 'default'}`, `${*}`,
  `${?}`, `${$}`) are replaced in Resource and Condition values from the request context, in
  policies of Version 2012-10-17 only; a variable without a value (and no default) makes the
  element not match (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html,
  "Policy variables with no value");
- `evaluate` decides identity policies alone (explicit Deny, else Allow, else implicit deny);
  `sandbox.iam_decision` combines every policy type.

Context keys are case-insensitive; the context maps each to a tuple of values (multi-valued
keys like aws:TagKeys have several).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.iam_conditions import (
    Context,
    UnsupportedCondition,
    arn_match,
    as_list,
    condition_holds,
    glob_match,
)

__all__ = [
    "Context",
    "Decision",
    "Request",
    "UnsupportedCondition",
    "arn_match",
    "condition_holds",
    "evaluate",
    "glob_match",
    "resolve",
    "statement_applies",
    "statements",
]

Decision = Literal["allow", "explicit_deny", "implicit_deny"]
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_LITERALS = {"*": "\x00", "?": "\x01", "$": "$"}  # ${*} and ${?} are literal characters
VARIABLES_VERSION = "2012-10-17"


@dataclass(frozen=True)
class Request:
    action: str  # service:Operation
    resource: str  # the ARN AWS authorizes the call on, or "*"
    context: Context = field(default_factory=dict)


def resolve(text: str, context: Context) -> str | None:
    """`text` with its policy variables replaced, or None when one has no (single) value."""
    unresolved = False

    def value(match: re.Match[str]) -> str:
        nonlocal unresolved
        name, _, default = match.group(1).partition(",")
        name = name.strip()
        if name in _LITERALS:
            return _LITERALS[name]
        values = context.get(name.lower()) or ()
        if len(values) == 1:
            return values[0]
        default = default.strip()
        if default.startswith("'") and default.endswith("'") and len(default) >= 2:
            return default[1:-1].replace("''", "'")
        unresolved = True
        return ""

    resolved = _VARIABLE.sub(value, text)
    return None if unresolved else resolved


def _element_matches(
    statement: Mapping[str, Any], name: str, value: str, context: Context | None
) -> bool:
    """Action/NotAction or Resource/NotResource; `context` resolves variables (None: none)."""
    ignore_case = "Action" in name

    def any_match(patterns: Any) -> bool:
        for pattern in as_list(patterns):
            text = resolve(str(pattern), context) if context is not None else str(pattern)
            if text is not None and glob_match(text, value, ignore_case=ignore_case):
                return True
        return False

    if name in statement:
        return any_match(statement[name])
    if f"Not{name}" in statement:
        return not any_match(statement[f"Not{name}"])
    return False


def conditions_hold(
    block: Mapping[str, Any] | None, context: Context, variables: bool = True
) -> bool:
    for operator, entries in (block or {}).items():
        for key, wanted in entries.items():
            if variables:
                wanted = [resolve(str(w), context) for w in as_list(wanted)]
            if not condition_holds(operator, key, wanted, context):
                return False
    return True


def statement_applies(
    statement: Mapping[str, Any], request: Request, variables: bool = True
) -> bool:
    """Action, Resource (absent: any, as in resource-based policies) and Condition match."""
    context = request.context if variables else None
    has_resource = "Resource" in statement or "NotResource" in statement
    return (
        _element_matches(statement, "Action", request.action, None)
        and (not has_resource or _element_matches(statement, "Resource", request.resource, context))
        and conditions_hold(statement.get("Condition"), request.context, variables)
    )


def statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in as_list(policy.get("Statement", [])) if isinstance(s, Mapping)]


def uses_variables(policy: Mapping[str, Any]) -> bool:
    return policy.get("Version") == VARIABLES_VERSION


def effects(
    policies: Sequence[Mapping[str, Any]],
    request: Request,
    applies: Any = None,
) -> tuple[bool, bool]:
    """(some statement denies, some statement allows) among `policies`; `applies(statement)`
    may narrow further (a resource policy's Principal)."""
    denied = allowed = False
    for policy in policies:
        variables = uses_variables(policy)
        for statement in statements(policy):
            if applies is not None and not applies(statement):
                continue
            if not statement_applies(statement, request, variables):
                continue
            denied = denied or statement.get("Effect") == "Deny"
            allowed = allowed or statement.get("Effect") == "Allow"
    return denied, allowed


def evaluate(policies: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    """The decision of identity policies alone on a request."""
    denied, allowed = effects(policies, request)
    if denied:
        return "explicit_deny"
    return "allow" if allowed else "implicit_deny"
