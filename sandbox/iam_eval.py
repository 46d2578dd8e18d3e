"""IAM identity-policy evaluation with conditions, as AWS documents it, for the sandbox.

moto evaluates Action and Resource but almost no Condition; this module decides a request from
the caller's identity policies the way AWS does for what flink-remediator's policy relies on:

- a matching explicit Deny wins; else a matching Allow allows; else the request is denied;
- Action/NotAction match case-insensitively, Resource/NotResource case-sensitively, `*`/`?`;
- Condition: every operator and every key must hold (AND); any listed value may match (OR);
- operators: String{Equals,NotEquals,EqualsIgnoreCase,NotEqualsIgnoreCase,Like,NotLike},
  Arn{Equals,Like,NotEquals,NotLike} (ArnEquals takes wildcards too, as in AWS), Bool, Null;
  prefixes `ForAllValues:` / `ForAnyValue:` and the `IfExists` suffix;
- a key missing from the request: false, except with IfExists, `Null: true`, negated operators
  and ForAllValues (true for an empty set, the documented pitfall);
- an operator not listed raises UnsupportedCondition: the caller fails closed.

Context keys are case-insensitive; the context maps each to a tuple of values (multi-valued
keys like aws:TagKeys have several).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "explicit_deny", "implicit_deny"]
Context = Mapping[str, tuple[str, ...]]


class UnsupportedCondition(ValueError):
    """A condition operator this evaluator does not know."""


@dataclass(frozen=True)
class Request:
    action: str  # service:Operation
    resource: str  # the ARN AWS authorizes the call on, or "*"
    context: Context = field(default_factory=dict)


def _glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case=ignore_case).match(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts matched with wildcards."""
    wanted, got = pattern.split(":", 5), value.split(":", 5)
    if len(wanted) != 6 or len(got) != 6:
        return False
    return all(glob_match(w, g) for w, g in zip(wanted, got, strict=True))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": glob_match,
    "ArnEquals": arn_match,
    "ArnLike": arn_match,
    "Bool": lambda p, v: p.lower() == v.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def condition_holds(operator: str, key: str, wanted: Any, context: Context) -> bool:
    """One `"Operator": {"key": wanted}` entry against the request context."""
    values = context.get(key.lower())
    if operator == "Null":
        absent = not values
        return any(absent == (str(w).lower() == "true") for w in _as_list(wanted))
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    negated = base in _NEGATED
    matcher = _MATCHERS.get(_NEGATED.get(base, base))
    if matcher is None or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedCondition(operator)
    patterns = [str(w) for w in _as_list(wanted)]

    def matches(value: str) -> bool:
        hit = any(matcher(p, value) for p in patterns)
        return not hit if negated else hit

    if not values:
        if qualifier == "ForAllValues" or if_exists:
            return True
        return negated and qualifier == ""
    if qualifier == "ForAllValues":
        return all(matches(v) for v in values)
    if negated and qualifier == "":
        return all(matches(v) for v in values)  # no value may equal any pattern
    return any(matches(v) for v in values)


def conditions_hold(block: Mapping[str, Any] | None, context: Context) -> bool:
    for operator, entries in (block or {}).items():
        for key, wanted in entries.items():
            if not condition_holds(operator, key, wanted, context):
                return False
    return True


def _element_matches(statement: Mapping[str, Any], name: str, value: str) -> bool:
    ignore_case = "Action" in name
    positive = name.removeprefix("Not")
    if name in statement:
        patterns = _as_list(statement[name])
        return any(glob_match(str(p), value, ignore_case=ignore_case) for p in patterns)
    if f"Not{positive}" in statement:
        patterns = _as_list(statement[f"Not{positive}"])
        return not any(glob_match(str(p), value, ignore_case=ignore_case) for p in patterns)
    return False


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    return (
        _element_matches(statement, "Action", request.action)
        and _element_matches(statement, "Resource", request.resource)
        and conditions_hold(statement.get("Condition"), request.context)
    )


def statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in _as_list(policy.get("Statement", [])) if isinstance(s, Mapping)]


def evaluate(policies: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    """The decision of identity policies on a request (no SCPs, boundaries, resource policies)."""
    allowed = False
    for policy in policies:
        for statement in statements(policy):
            if not statement_applies(statement, request):
                continue
            if statement.get("Effect") == "Deny":
                return "explicit_deny"
            allowed = allowed or statement.get("Effect") == "Allow"
    return "allow" if allowed else "implicit_deny"
