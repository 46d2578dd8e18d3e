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
- Several replicas (or a stale inventory): an application ARN the trust policy already names is
  never removed because the inventory lacks it (a replica that has not yet indexed a new app
  would lock it out). It is dropped only when DescribeApplication in that application's
  account and Region says it does not exist; one in another Region is kept.
- The account (`aws:SourceAccount`) is the application's as read from AWS (its ARN in
  DescribeApplication), never an event's.
- Every Allow statement that trusts anything but the Managed Flink service (another account, a
  role, `*`, a federated identity, another service, a NotPrincipal) is reported, one drift per
  statement naming its Sid (or index) and those principals, and never removed: whoever may
  assume an execution role runs with its permissions, and an outside account in the trust is a
  lasting backdoor (a stolen credential's favourite change), but only the owner can tell a
  deliberate cross-account setup from an attack, so it is an alert, not a write.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from daemon import errors
from daemon.state import AppRef, Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations import iam_documents as docs
from remediations.base import ANY_APPLICATION, Reader, Rule, RuleSettings
from remediations.grants import Scope, Statement, role_writes
from remediations.trust_policy import (
    SERVICE,
    SOURCE_ACCOUNT,
    SOURCE_ARN,
    SOURCE_ARN_OPERATORS,
    Trusted,
    Wanted,
    compliant,
    fixed_document,
    lets_flink_assume,
    other_trusted,
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
    app_arn: str = ""  # this application's ARN as DescribeApplication gave it
    # ARNs the trust policy names that the inventory lacks but that still exist (or cannot be
    # checked from here): kept, never removed on the inventory's word alone.
    kept: tuple[str, ...] = ()


_APP_ARN = re.compile(r"^arn:aws[a-z-]*:kinesisanalytics:([a-z0-9-]+):(\d{12}):application/(.+)$")


def _named_apps(trust: docs.Document) -> set[str]:
    """Exact application ARNs in the SourceArn conditions of the Managed Flink statements."""
    named: set[str] = set()
    for statement in docs.statements(trust):
        condition = statement.get("Condition")
        if not lets_flink_assume(statement) or not isinstance(condition, Mapping):
            continue
        for operator in SOURCE_ARN_OPERATORS:
            for values in docs.condition_values(condition, operator, SOURCE_ARN):
                named |= {str(v) for v in values if _APP_ARN.match(str(v)) and "*" not in str(v)}
    return named


def _still_exists(arn: str, own_arn: str, read: Reader) -> bool:
    """False only when DescribeApplication (in this app's account and Region, the reach of
    `read`) says the application is gone."""
    match, own = _APP_ARN.match(arn), _APP_ARN.match(own_arn)
    if match is None or own is None or match.group(1, 2) != own.group(1, 2):
        return True  # another account or Region: cannot be disproved from here
    try:
        read("kinesisanalyticsv2", "DescribeApplication", ApplicationName=match[3])
    except errors.ResourceNotFound:
        return False
    return True


class ExecutionRoleTrust(Rule[Settings, RoleTrust]):
    summary = "The execution role trusts only Managed Flink, for its account and the apps using it."
    severity = "HIGH"
    read_actions = ("iam:GetRole", "kinesisanalytics:DescribeApplication")
    write_actions = ("iam:UpdateAssumeRolePolicy",)
    # The role's trust changed, or an application started using the role.
    trigger_events = frozenset({"UpdateAssumeRolePolicy", "CreateApplication", "UpdateApplication"})
    applies_to = ANY_APPLICATION  # every application that has an execution role

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.execution_role(detail)

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return [role_writes(sid, self.write_actions, scope)]

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
        trust = docs.load(role.get("AssumeRolePolicyDocument") or {})
        app_arn = str(detail.get("ApplicationARN") or app.arn)
        known = {app_arn} | {a.arn for a in apps or ()}
        kept = sorted(
            arn
            for arn in _named_apps(trust) - known
            if apps is not None and _still_exists(arn, app_arn, read)
        )
        return RoleTrust(
            str(role.get("Arn") or role_arn),
            trust,
            None if apps is None else tuple(sorted(a.arn for a in apps)),
            app_arn,
            tuple(kept),
        )

    def _wanted(self, settings: Settings, observed: Observed, facts: RoleTrust) -> Wanted:
        own = facts.app_arn or observed.app.arn
        users = set(facts.apps or ()) | {own} | set(facts.kept)
        match = _APP_ARN.match(own)
        account = match[2] if match else observed.app.account
        return wanted_for(account, users, settings.source_arn)

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        facts = self.facts(observed)
        if facts is None or not facts.trust:
            return ()
        others = tuple(self._other(observed, facts, t) for t in other_trusted(facts.trust))
        return self._conditions(settings, observed, facts) + others

    def _other(self, observed: Observed, facts: RoleTrust, trusted: Trusted) -> Drift:
        """A statement trusting someone else: reported, never written (fixable=False)."""
        names = ", ".join(f"{kind} {value}" for kind, value in trusted.principals)
        message = (
            f"trust policy of role {docs.resource_name(facts.role_arn)}: {trusted.label} lets "
            f"{names} assume the execution role, not only {SERVICE}; whoever assumes it runs "
            "with the application's permissions (reported, never removed automatically)"
        )
        field = f"AssumeRolePolicyDocument.Statement[{trusted.index}].Principal"
        current = {"Sid": trusted.sid, "Principal": trusted.principal}
        desired = {"Principal": {"Service": SERVICE}}
        return self.drift(
            observed, field, current, desired, message, fixable=False, resource=facts.role_arn
        )

    def _conditions(
        self, settings: Settings, observed: Observed, facts: RoleTrust
    ) -> tuple[Drift, ...]:
        """The Managed Flink statements lacking the confused-deputy conditions: one drift."""
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
        everyone = set(facts.apps or ()) | {facts.app_arn or observed.app.arn} | set(facts.kept)
        users = sorted(docs.resource_name(a) for a in everyone)
        if complete:
            note = f"the change affects every application using it: {', '.join(users)}"
        else:
            note = "not fixed until the inventory knows every application using the role"
        desired = {
            f"StringEquals.{SOURCE_ACCOUNT}": wanted.account,
            f"{wanted.operator}.{SOURCE_ARN}": list(wanted.source_arns),
        }
        # What each statement has now; None where it has no Condition at all.
        conditions = [s.get("Condition") or None for s in bad]
        current = conditions[0] if len(conditions) == 1 else conditions
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
