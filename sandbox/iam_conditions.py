"""IAM Condition operators, as the IAM User Guide documents them:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

- String{Equals,NotEquals,EqualsIgnoreCase,NotEqualsIgnoreCase,Like,NotLike};
- Numeric{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals};
- Date{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals} (ISO 8601 or
  epoch seconds, on either side);
- Bool, BinaryEquals, IpAddress/NotIpAddress (CIDR or single address, IPv4 and IPv6),
  Arn{Equals,Like,NotEquals,NotLike} (ArnEquals takes wildcards too, as in AWS), Null;
- prefixes `ForAllValues:` / `ForAnyValue:` and the `...IfExists` suffix.

A key missing from the request: false, except with IfExists, `Null: true`, negated operators and
ForAllValues (true for an empty set, the documented pitfall). A value that does not parse as the
operator's type (a number, a date, an address) does not match. An operator not listed raises
UnsupportedCondition: the caller fails closed.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

Context = Mapping[str, tuple[str, ...]]
Compare = Callable[[Any, Any], bool]


class UnsupportedCondition(ValueError):
    """A condition operator this evaluator does not know."""


def glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """`*` and `?` wildcards; NUL and SOH stand for the literal `*` and `?` of ${*} and ${?}."""
    literal = {"\x00": re.escape("*"), "\x01": re.escape("?"), "*": ".*", "?": "."}
    body = "".join(literal.get(c) or re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return glob(pattern, ignore_case=ignore_case).match(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts matched with wildcards."""
    wanted, got = pattern.split(":", 5), value.split(":", 5)
    if len(wanted) != 6 or len(got) != 6:
        return False
    return all(glob_match(w, g) for w, g in zip(wanted, got, strict=True))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> datetime | None:
    """ISO 8601 (a date, or a time with or without zone: UTC when none) or epoch seconds."""
    number = _number(text)
    if number is not None:
        return datetime.fromtimestamp(number, UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _typed(parse: Callable[[str], Any], compare: Compare) -> Callable[[str, str], bool]:
    """Compare request value `v` with policy value `p` after parsing both; unparsable: no match."""

    def match(p: str, v: str) -> bool:
        wanted, got = parse(p), parse(v)
        return wanted is not None and got is not None and bool(compare(got, wanted))

    return match


def _in_network(p: str, v: str) -> bool:
    try:
        return ipaddress.ip_address(v.strip()) in ipaddress.ip_network(p.strip(), strict=False)
    except ValueError:
        return False


_COMPARISONS: dict[str, Compare] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "LessThanEquals": operator.le,
    "GreaterThan": operator.gt,
    "GreaterThanEquals": operator.ge,
}
MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": glob_match,
    "ArnEquals": arn_match,
    "ArnLike": arn_match,
    "Bool": lambda p, v: p.lower() == v.lower(),
    "BinaryEquals": lambda p, v: p == v,  # both base64 text
    "IpAddress": _in_network,
    **{f"Numeric{name}": _typed(_number, cmp) for name, cmp in _COMPARISONS.items()},
    **{f"Date{name}": _typed(_date, cmp) for name, cmp in _COMPARISONS.items()},
}
NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def condition_holds(operator_name: str, key: str, wanted: Any, context: Context) -> bool:
    """One `"Operator": {"key": wanted}` entry against the request context (`wanted` already
    has its policy variables resolved; None for a variable the request has no value for: the
    entry fails, as AWS treats a statement whose variable does not resolve)."""
    if any(w is None for w in as_list(wanted)):
        return False
    values = context.get(key.lower())
    if operator_name == "Null":
        absent = not values
        return any(absent == (str(w).lower() == "true") for w in as_list(wanted))
    qualifier, _, base = operator_name.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    negated = base in NEGATED
    matcher = MATCHERS.get(NEGATED.get(base, base))
    if matcher is None or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedCondition(operator_name)
    patterns = [str(w) for w in as_list(wanted)]

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
