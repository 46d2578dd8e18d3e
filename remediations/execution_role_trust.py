"""execution_role_trust: the execution role trusts Managed Flink only on behalf of its own apps.

AWS recommends `aws:SourceAccount` and `aws:SourceArn` conditions on the trust statement that lets
`kinesisanalytics.amazonaws.com` assume an execution role (confused-deputy prevention). A role is
shared state: SourceArn must name *every* application using the role (from the daemon's
inventory), or the fix would lock the others out. So:

- While the inventory is incomplete (`apps_using_role` is None) the rule never writes. It still
  reports a statement that lacks the conditions, or whose SourceArn does not cover this app, as an
  unfixable drift (so the finding does not vanish at start-up); a statement that covers this app
  is taken as compliant until the inventory can say more.
- `source_arn: exact` names each application's ARN; `wildcard` names
  `arn:aws:kinesisanalytics:REGION:ACCOUNT:application/*` for each Region the role's apps run in.
  Wildcard keeps working for apps created later with the same role (no window in which a new app
  cannot start), but any app of the account in that Region may then use the role: the
  confused-deputy protection stays, the per-application separation goes.
- The fix (UpdateAssumeRolePolicy: not versioned, resource = the role ARN) changes nothing else:
  other statements, Sids and unrelated conditions stay; an existing StringEquals gains the key.
  Stale `aws:SourceArn` keys under Arn*/String* operators are replaced, since they would AND with
  the new list. A statement whose Principal also names others (an AWS account, another service)
  is split: Managed Flink gets its own conditioned copy, the others keep the statement as it was,
  because conditions on an application's ARN would lock the other principals out.
- A role that does not exist (or an app without one) is nobody's to assume: no drift.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field

from daemon import errors
from daemon.state import AppRef, Call, Drift, Mode, Observed
from remediations import iam_documents as docs
from remediations.base import Reader, RuleSettings

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


class Settings(RuleSettings):
    source_arn: Literal["exact", "wildcard"] = Field(
        default="exact",
        description="exact: every application ARN using the role; wildcard: "
        "arn:aws:kinesisanalytics:REGION:ACCOUNT:application/* per Region of those apps.",
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


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


class ExecutionRoleTrust:
    id: ClassVar[str] = "execution_role_trust"
    summary: ClassVar[str] = (
        "The execution role's trust policy names the account and every app using it."
    )
    settings_model: ClassVar[type[RuleSettings]] = Settings
    default_mode: ClassVar[Mode] = "enforce"
    read_actions: ClassVar[tuple[str, ...]] = ("iam:GetRole",)
    write_actions: ClassVar[tuple[str, ...]] = ("iam:UpdateAssumeRolePolicy",)
    # The role's trust changed, or an application started using the role.
    trigger_events: ClassVar[frozenset[str]] = frozenset(
        {"UpdateAssumeRolePolicy", "CreateApplication", "UpdateApplication"}
    )

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> dict[str, Any]:
        role_arn = str(detail.get("ServiceExecutionRole") or "")
        if not role_arn:
            return {"role_arn": "", "trust": None}
        try:
            role = read("iam", "GetRole", RoleName=_name(role_arn))["Role"]
        except errors.ResourceNotFound:
            return {"role_arn": role_arn, "trust": None}
        apps = read.apps_using_role(role_arn)
        return {
            "role_arn": str(role.get("Arn") or role_arn),
            "trust": docs.load(role.get("AssumeRolePolicyDocument") or {}),
            "apps": None if apps is None else sorted(a.arn for a in apps),
        }

    def _state(self, settings: Settings, observed: Observed) -> tuple[dict[str, Any], Wanted]:
        facts = observed.fact(self.id) or {}
        users = set(facts.get("apps") or ()) | {observed.app.arn}
        return facts, wanted_for(observed.app.account, users, settings.source_arn)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        facts, wanted = self._state(settings, observed)
        if not facts.get("trust"):
            return ()
        complete = facts.get("apps") is not None
        covering = "" if complete else observed.app.arn
        bad = [
            s
            for s in docs.statements(facts["trust"])
            if lets_flink_assume(s) and not compliant(s, wanted, covering)
        ]
        if not bad:
            return ()
        role = facts["role_arn"]
        users = sorted(_name(a) for a in set(facts.get("apps") or ()) | {observed.app.arn})
        if complete:
            note = f"the change affects every application using it: {', '.join(users)}"
        else:
            note = "not fixed until the inventory knows every application using the role"
        desired = {
            f"StringEquals.{SOURCE_ACCOUNT}": wanted.account,
            f"{wanted.operator}.{SOURCE_ARN}": list(wanted.source_arns),
        }
        current = [s.get("Condition") or {} for s in bad]
        message = (
            f"trust policy of role {_name(role)} lets {SERVICE} assume it without "
            f"{SOURCE_ACCOUNT} and {SOURCE_ARN} naming every application using the role; {note}"
        )
        return (
            Drift(
                self.id,
                observed.app,
                "AssumeRolePolicyDocument.Condition",
                current,
                desired,
                message,
                fixable=complete,
                resource=role,
            ),
        )

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        facts, wanted = self._state(settings, observed)
        if not any(d.fixable for d in drifts) or not facts.get("trust"):
            return ()
        document = fixed_document(facts["trust"], wanted)
        params = {"RoleName": _name(facts["role_arn"]), "PolicyDocument": _json(document)}
        return (Call("iam", "UpdateAssumeRolePolicy", params, resource=facts["role_arn"]),)


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))
