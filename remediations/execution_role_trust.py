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

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from daemon import errors
from daemon.state import AppRef, Call, Drift, Observed
from remediations import iam_documents as docs
from remediations.base import ANY_APPLICATION, Reader, Rule, RuleSettings
from remediations.trust_policy import (
    SERVICE,
    SOURCE_ACCOUNT,
    SOURCE_ARN,
    Wanted,
    compliant,
    fixed_document,
    lets_flink_assume,
    wanted_for,
)


class Settings(RuleSettings):
    source_arn: Literal["exact", "wildcard"] = Field(
        default="exact",
        description="exact: every application ARN using the role; wildcard: "
        "arn:aws:kinesisanalytics:REGION:ACCOUNT:application/* per Region of those apps.",
    )


@dataclass(frozen=True)
class RoleTrust:
    role_arn: str
    trust: docs.Document
    apps: tuple[str, ...] | None  # ARNs of every app using the role; None: inventory incomplete


class ExecutionRoleTrust(Rule[Settings, RoleTrust]):
    summary = "The execution role's trust policy names the account and every app using it."
    read_actions = ("iam:GetRole",)
    write_actions = ("iam:UpdateAssumeRolePolicy",)
    # The role's trust changed, or an application started using the role.
    trigger_events = frozenset({"UpdateAssumeRolePolicy", "CreateApplication", "UpdateApplication"})
    applies_to = ANY_APPLICATION  # every application that has an execution role

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> RoleTrust | None:
        role_arn = str(detail.get("ServiceExecutionRole") or "")
        if not role_arn:
            return None
        try:
            role = read("iam", "GetRole", RoleName=docs.resource_name(role_arn))["Role"]
        except errors.ResourceNotFound:
            return None  # a role that does not exist is nobody's to assume
        apps = read.apps_using_role(role_arn)
        return RoleTrust(
            str(role.get("Arn") or role_arn),
            docs.load(role.get("AssumeRolePolicyDocument") or {}),
            None if apps is None else tuple(sorted(a.arn for a in apps)),
        )

    def _wanted(self, settings: Settings, observed: Observed, facts: RoleTrust) -> Wanted:
        users = set(facts.apps or ()) | {observed.app.arn}
        return wanted_for(observed.app.account, users, settings.source_arn)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        facts = self.facts(observed)
        if facts is None or not facts.trust:
            return ()
        wanted = self._wanted(settings, observed, facts)
        complete = facts.apps is not None
        covering = "" if complete else observed.app.arn
        bad = [
            s
            for s in docs.statements(facts.trust)
            if lets_flink_assume(s) and not compliant(s, wanted, covering)
        ]
        if not bad:
            return ()
        role = facts.role_arn
        users = sorted(docs.resource_name(a) for a in set(facts.apps or ()) | {observed.app.arn})
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
            f"trust policy of role {docs.resource_name(role)} lets {SERVICE} assume it without "
            f"{SOURCE_ACCOUNT} and {SOURCE_ARN} naming every application using the role; {note}"
        )
        field = "AssumeRolePolicyDocument.Condition"
        return (
            self.drift(observed, field, current, desired, message, fixable=complete, resource=role),
        )

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        facts = self.facts(observed)
        if not any(d.fixable for d in drifts) or facts is None or not facts.trust:
            return ()
        document = fixed_document(facts.trust, self._wanted(settings, observed, facts))
        params = {
            "RoleName": docs.resource_name(facts.role_arn),
            "PolicyDocument": json.dumps(document, separators=(",", ":")),
        }
        return (Call("iam", "UpdateAssumeRolePolicy", params, resource=facts.role_arn),)
