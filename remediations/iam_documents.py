"""Pure helpers for IAM policy documents: parse, read, edit and compare them by meaning.

IAM accepts one value or a list wherever a list is allowed, compares action names and condition
keys case-insensitively, and gives statement order and list order no meaning. Comparing two
documents here ignores all of that (`equivalent`), so a fix is judged by what it means, not by
how it is spelled. Condition operator names are compared case-insensitively too: a document
that spells one both ways is ambiguous, and an edit must never add a second spelling.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

Document = dict[str, Any]
Statement = dict[str, Any]


def load(value: Any) -> Document:
    """A policy document from what IAM returned: a mapping (botocore decodes most), a JSON
    string, or the URL-encoded JSON string of the raw API."""
    if isinstance(value, Mapping):
        return copy.deepcopy(dict(value))
    if not isinstance(value, str):
        raise TypeError(f"not a policy document: {type(value).__name__}")
    text = value.strip()
    if not text.startswith("{"):
        text = urllib.parse.unquote(text)
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("a policy document is a JSON object")
    return doc


def resource_name(arn: str) -> str:
    """`arn:aws:iam::123456789012:role/path/name` -> `name` (roles and policies alike)."""
    return arn.rsplit("/", 1)[-1]


def as_list(value: Any) -> list[Any]:
    """IAM's "one value or a list"."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def one_or_list(values: Iterable[Any]) -> Any:
    items = list(values)
    return items[0] if len(items) == 1 else items


def statements(doc: Mapping[str, Any]) -> list[Statement]:
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, dict)]


def is_allow(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def grants(statement: Mapping[str, Any], action: str) -> bool:
    """Does this statement's Action (or NotAction) cover `action`? Wildcards as in IAM."""
    wanted = action.lower()

    def matches(patterns: Any) -> bool:
        return any(fnmatch.fnmatchcase(wanted, str(p).lower()) for p in as_list(patterns))

    if "NotAction" in statement:
        return not matches(statement["NotAction"])
    return matches(statement.get("Action"))


def principals(statement: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(type, value) pairs of the Principal; ("*", "*") for the anonymous `"Principal": "*"`."""
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return [("*", principal)]
    if not isinstance(principal, Mapping):
        return []
    return [(kind, str(v)) for kind, values in principal.items() for v in as_list(values)]


def without_principal(statement: Statement, kind: str, value: str) -> Statement:
    """A copy of the statement whose Principal no longer names (kind, value); the other
    principals keep their types and spelling."""
    out = copy.deepcopy(statement)
    principal = out.get("Principal")
    if not isinstance(principal, dict) or kind not in principal:
        return out
    rest = [v for v in as_list(principal[kind]) if str(v).lower() != value.lower()]
    if rest:
        principal[kind] = one_or_list(rest)
    else:
        del principal[kind]
    return out


def operator_name(condition: Mapping[str, Any], operator: str) -> str:
    """The spelling the condition already uses for `operator`, else the canonical one."""
    return next((op for op in condition if op.lower() == operator.lower()), operator)


def condition_values(condition: Mapping[str, Any], operator: str, key: str) -> list[list[Any]]:
    """Every value list given for `key` under `operator` (both matched case-insensitively)."""
    found: list[list[Any]] = []
    for op, block in condition.items():
        if op.lower() != operator.lower() or not isinstance(block, Mapping):
            continue
        found.extend(as_list(v) for k, v in block.items() if k.lower() == key.lower())
    return found


def drop_key(condition: dict[str, Any], operators: Iterable[str], key: str) -> None:
    """Remove `key` from the given operators (in place); an operator left empty goes too."""
    lowered = {o.lower() for o in operators}
    for op in list(condition):
        block = condition[op]
        if op.lower() not in lowered or not isinstance(block, dict):
            continue
        for k in [k for k in block if k.lower() == key.lower()]:
            del block[k]
        if not block:
            del condition[op]


def set_key(condition: dict[str, Any], operator: str, key: str, values: Iterable[Any]) -> None:
    """`operator: {key: values}` (in place), merged into an existing block for the operator."""
    op = operator_name(condition, operator)
    block = condition.setdefault(op, {})
    for k in [k for k in block if k.lower() == key.lower()]:
        del block[k]
    block[key] = one_or_list(values)


# -- comparing by meaning ------------------------------------------------------------------------

_CASELESS = ("Action", "NotAction")
_LISTS = ("Action", "NotAction", "Resource", "NotResource")


def _value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def canonical_condition(condition: Any) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    if not isinstance(condition, Mapping):
        return out
    for op, block in condition.items():
        if not isinstance(block, Mapping):
            continue
        keys = out.setdefault(op.lower(), {})
        for key, values in block.items():
            merged = set(keys.get(key.lower(), [])) | {_value(v) for v in as_list(values)}
            keys[key.lower()] = sorted(merged)
    return {op: keys for op, keys in out.items() if keys}


def canonical_principal(principal: Any) -> Any:
    if isinstance(principal, str) or principal is None:
        return principal
    if not isinstance(principal, Mapping):
        return repr(principal)
    return {kind: sorted({str(v) for v in as_list(v)}) for kind, v in principal.items()}


def canonical_statement(statement: Mapping[str, Any], with_sid: bool = True) -> str:
    """A string equal for two statements exactly when they mean the same (and, with_sid,
    carry the same Sid)."""
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key == "Sid" and not with_sid:
            continue
        if key in _LISTS:
            items = {str(v).lower() if key in _CASELESS else str(v) for v in as_list(value)}
            out[key] = sorted(items)
        elif key in ("Principal", "NotPrincipal"):
            out[key] = canonical_principal(value)
        elif key == "Condition":
            condition = canonical_condition(value)
            if condition:
                out[key] = condition
        else:
            out[key] = value
    return json.dumps(out, sort_keys=True, default=str)


def canonical(doc: Mapping[str, Any], with_sid: bool = True) -> tuple[str, tuple[str, ...]]:
    """The document's meaning: its version and the sorted multiset of its statements."""
    body = sorted(canonical_statement(s, with_sid) for s in statements(doc))
    return str(doc.get("Version", "")), tuple(body)


def equivalent(a: Mapping[str, Any], b: Mapping[str, Any], with_sid: bool = True) -> bool:
    return canonical(a, with_sid) == canonical(b, with_sid)
