"""What a write carried that no IAM condition can narrow, and whether the daemon planned it: pure.

`UpdateApplication` accepts new application code, environment properties, an encryption setting
and an execution role; `UpdateAssumeRolePolicy` accepts any trust document. So the ledger of the
daemon's own writes keeps, per request, the sensitive parts its planned calls sent
(`sensitive_parts` of the botocore parameters), and the own-credential canary compares them with
the same parts of the CloudTrail record's `requestParameters` (lower camel case: keys are
compared case-insensitively). A part the event carries and no planned call sent is a write the
daemon did not plan: someone else used its credentials, or its own code was changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

# UpdateApplication parameters (at any depth) whose presence is a sensitive change.
APPLICATION_PARTS: Mapping[str, str] = {
    "applicationcodeconfigurationupdate": "application code",
    "environmentpropertyupdates": "environment properties",
    "applicationencryptionconfigurationupdate": "encryption configuration",
    "serviceexecutionroleupdate": "execution role",
}
FLINK_SERVICE = "kinesisanalytics.amazonaws.com"

Reason = Literal["unledgered", "unplanned"]


def sensitive_parts(operation: str, params: Mapping[str, Any] | None) -> frozenset[str]:
    """The sensitive parts of one call: `application code`, ... for UpdateApplication;
    `principal AWS:arn:...` per principal other than the Managed Flink service that an Allow
    statement of UpdateAssumeRolePolicy's document trusts."""
    if not params:
        return frozenset()
    if operation == "UpdateApplication":
        return frozenset(APPLICATION_PARTS[k] for k in _keys(params) if k in APPLICATION_PARTS)
    if operation == "UpdateAssumeRolePolicy":
        document = _value(params, "policydocument")
        return frozenset(
            f"principal {p}" for p in _trusted(document) if p != f"Service:{FLINK_SERVICE}"
        )
    return frozenset()


def _keys(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if item not in (None, {}, []):
                yield str(key).casefold()
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def _value(params: Mapping[str, Any], key: str) -> Any:
    return next((v for k, v in params.items() if str(k).casefold() == key), None)


def _trusted(document: Any) -> list[str]:
    """`Kind:value` of every principal an Allow statement names (`*` for `Principal: "*"`);
    an unreadable document is itself reported (`unreadable document`)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return ["unreadable document"]
    if not isinstance(document, Mapping):
        return ["unreadable document"] if document is not None else []
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, Mapping) else statements
    found: list[str] = []
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*" or "NotPrincipal" in statement:
            found.append("*")
            continue
        for kind, values in (principal or {}).items() if isinstance(principal, Mapping) else ():
            for value in [values] if isinstance(values, str) else values or ():
                found.append(f"{kind}:{value}")
    return found


@dataclass(frozen=True)
class OwnWriteEvent:
    """A CloudTrail record of a write made with the daemon's credentials."""

    event_id: str
    event_name: str
    request_id: str
    account: str
    region: str
    actor: str
    source_ip: str
    user_agent: str
    event_time: datetime | None
    targets: tuple[str, ...]
    parameters: Mapping[str, Any]

    @property
    def parts(self) -> frozenset[str]:
        return sensitive_parts(self.event_name, self.parameters)


@dataclass(frozen=True)
class UnexplainedWrite:
    """An own-credential write the daemon cannot explain: no ledger entry (`unledgered`), or
    carrying parts no planned call sent (`unplanned`, listed in `parts`)."""

    event: OwnWriteEvent
    reason: Reason
    parts: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        e = self.event
        what = f"{e.event_name} (request {e.request_id}) on {', '.join(e.targets) or '?'}"
        if self.reason == "unledgered":
            return f"{what} made with the daemon's credentials is not in its ledger of writes"
        return f"{what} carried {', '.join(self.parts)}, which the daemon did not plan"
