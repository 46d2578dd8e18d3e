"""Pure helpers for execution-role trust policies: who may assume the role, and the
confused-deputy conditions (`aws:SourceAccount`, `aws:SourceArn`) that limit Managed Flink to
the applications using the role. Built on `iam_documents`, which handles the spelling rules.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from remediations import iam_documents as docs

SERVICE = "kinesisanalytics.amazonaws.com"
ACTION = "sts:AssumeRole"
SOURCE_ARN, SOURCE_ACCOUNT = "aws:SourceArn", "aws:SourceAccount"
# Operators under which an aws:SourceArn key narrows who may assume the role.
ARN_OPERATORS = ("ArnEquals", "ArnLike")
SOURCE_ARN_OPERATORS = (
    *ARN_OPERATORS,
    "StringEquals",
    "StringLike",
    *(f"{op}IfExists" for op in (*ARN_OPERATORS, "StringEquals", "StringLike")),
)


@dataclass(frozen=True)
class Wanted:
    account: str
    source_arns: tuple[str, ...]
    operator: str  # ArnEquals for exact ARNs, ArnLike for wildcards


def wanted_for(account: str, app_arns: Iterable[str], mode: str) -> Wanted:
    arns = sorted(set(app_arns))
    if mode == "wildcard":
        heads = {arn.split(":application/", 1)[0] for arn in arns}
        return Wanted(account, tuple(sorted(f"{h}:application/*" for h in heads)), "ArnLike")
    return Wanted(account, tuple(arns), "ArnEquals")


def lets_flink_assume(statement: Mapping[str, Any]) -> bool:
    services = {v.lower() for kind, v in docs.principals(statement) if kind == "Service"}
    return docs.is_allow(statement) and SERVICE in services and docs.grants(statement, ACTION)


def compliant(statement: Mapping[str, Any], wanted: Wanted, covering: str = "") -> bool:
    """Both conditions present; SourceArn names exactly the wanted ARNs (or, with `covering`,
    at least matches that one ARN: what can be judged while the inventory is incomplete)."""
    condition = statement.get("Condition") or {}
    if not isinstance(condition, Mapping):
        return False
    accounts = docs.condition_values(condition, "StringEquals", SOURCE_ACCOUNT)
    if not any({str(v) for v in values} == {wanted.account} for values in accounts):
        return False
    arn_lists = [
        (op, values)
        for op in SOURCE_ARN_OPERATORS
        for values in docs.condition_values(condition, op, SOURCE_ARN)
    ]
    if len(arn_lists) != 1 or arn_lists[0][0] not in ARN_OPERATORS:
        return False
    values = {str(v) for v in arn_lists[0][1]}
    if covering:
        return any(re.fullmatch(_glob(v), covering) for v in values)
    return values == set(wanted.source_arns)


def _glob(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def with_conditions(statement: Mapping[str, Any], wanted: Wanted) -> docs.Statement:
    out = copy.deepcopy(dict(statement))
    condition = out.get("Condition")
    condition = copy.deepcopy(condition) if isinstance(condition, dict) else {}
    docs.drop_key(condition, SOURCE_ARN_OPERATORS, SOURCE_ARN)
    docs.set_key(condition, "StringEquals", SOURCE_ACCOUNT, [wanted.account])
    docs.set_key(condition, wanted.operator, SOURCE_ARN, wanted.source_arns)
    out["Condition"] = condition
    return out


def fixed_document(doc: Mapping[str, Any], wanted: Wanted) -> docs.Document:
    """The trust document with the conditions added where missing, all else the same."""
    out = copy.deepcopy(dict(doc))
    sids = {str(s.get("Sid")) for s in docs.statements(doc) if s.get("Sid")}
    result: list[docs.Statement] = []
    for statement in docs.as_list(doc.get("Statement")):
        if not isinstance(statement, dict) or not lets_flink_assume(statement):
            result.append(copy.deepcopy(statement))
            continue
        if compliant(statement, wanted):
            result.append(copy.deepcopy(statement))
            continue
        if len(docs.principals(statement)) == 1:
            result.append(with_conditions(statement, wanted))
            continue
        result.append(docs.without_principal(statement, "Service", SERVICE))
        own = with_conditions({**statement, "Principal": {"Service": SERVICE}}, wanted)
        if statement.get("Sid"):
            own["Sid"] = _new_sid(str(statement["Sid"]), sids)
            sids.add(own["Sid"])
        result.append(own)
    out["Statement"] = result
    return out


def _new_sid(base: str, taken: set[str]) -> str:
    stem = re.sub(r"[^0-9A-Za-z]", "", base) + "ManagedFlink"
    candidates = (stem if n == 1 else f"{stem}{n}" for n in range(1, len(taken) + 2))
    return next(c for c in candidates if c not in taken)


@dataclass(frozen=True)
class Trusted:
    """One Allow statement of a trust policy that trusts someone other than Managed Flink."""

    index: int  # position in the Statement list
    sid: str
    principals: tuple[tuple[str, str], ...]  # (type, value) of each non-Flink principal

    @property
    def label(self) -> str:
        return f"Sid {self.sid!r}" if self.sid else f"statement {self.index}"

    @property
    def principal(self) -> dict[str, list[str]]:
        """The non-Flink principals as IAM writes them: {"AWS": [...], "Service": [...]}."""
        grouped: dict[str, list[str]] = {}
        for kind, value in self.principals:
            grouped.setdefault(kind, []).append(value)
        return grouped


def other_trusted(doc: Mapping[str, Any]) -> tuple[Trusted, ...]:
    """Every Allow statement that lets anything but the Managed Flink service assume the role:
    an account or role (AWS), `*`, a federated identity, another service, or a NotPrincipal
    (everyone but the ones it names). Deny statements trust no one."""
    found: list[Trusted] = []
    for index, statement in enumerate(docs.as_list(doc.get("Statement"))):
        if not isinstance(statement, Mapping) or not docs.is_allow(statement):
            continue
        sid = str(statement.get("Sid") or "")
        if "NotPrincipal" in statement:
            everyone = (("NotPrincipal", json.dumps(statement["NotPrincipal"], sort_keys=True)),)
            found.append(Trusted(index, sid, everyone))
            continue
        others = tuple(
            (kind, value)
            for kind, value in docs.principals(statement)
            if (kind, value.lower()) != ("Service", SERVICE)
        )
        if others:
            found.append(Trusted(index, sid, others))
    return tuple(found)
