"""Loop prevention: recognise events the daemon's own identity caused.

The identity comes from STS GetCallerIdentity at start. An IAM user (or root, or a federated user)
matches by exact ARN. An assumed-role session matches every session of the same role, because on
EKS (IRSA, Pod Identity) and with refreshed credentials the session name changes: the event's role
is read from `sessionContext.sessionIssuer.arn` (which carries the role path) or, failing that,
parsed from its assumed-role ARN. IAM role names are unique per account regardless of path and
case, so roles compare by (partition, account, name case-insensitively).

In member accounts the daemon acts as the member role it assumes there: `with_roles` adds those
roles, so an event the daemon caused in any account is recognised as its own.

Caveat: a human using the daemon's role is treated as the daemon; give the daemon its own role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from daemon.errors import SettingsError
from daemon.ingest.events import Hint

_ASSUMED_ROLE = re.compile(r"arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/[^/]+")
_ROLE = re.compile(r"arn:(aws[a-z-]*):iam::(\d{12}):role/(?:[^/]*/)*([^/]+)")
_ARN = re.compile(r"arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+")

RoleKey = tuple[str, str, str]  # (partition, account, role name casefolded)


def role_of(arn: str) -> RoleKey | None:
    """The role behind an assumed-role session ARN or a role ARN (any path), else None."""
    match = _ASSUMED_ROLE.fullmatch(arn) or _ROLE.fullmatch(arn)
    if match is None:
        return None
    return match[1], match[2], match[3].casefold()


@dataclass(frozen=True)
class OwnIdentity:
    """Who the daemon is. `role` is set when it runs as an assumed-role session."""

    arn: str
    role: RoleKey | None = None
    member_roles: frozenset[RoleKey] = frozenset()  # roles it assumes in other accounts

    @classmethod
    def from_caller_identity(cls, arn: str) -> OwnIdentity:
        """From GetCallerIdentity's Arn, e.g. arn:aws:sts::123456789012:assumed-role/R/S.
        A role ARN (arn:aws:iam::ACCT:role/path/R) is accepted too and means the same."""
        if not _ARN.fullmatch(arn):
            raise SettingsError(f"not an IAM or STS principal ARN: {arn!r}")
        return cls(arn=arn, role=role_of(arn))

    def with_roles(self, role_arns: Iterable[str]) -> OwnIdentity:
        """The same identity, also acting as these (member) roles."""
        roles = {key for arn in role_arns if (key := role_of(arn)) is not None}
        return replace(self, member_roles=frozenset(roles))

    def caused(self, hint: Hint) -> bool:
        """True if the event was made by this identity (or, for a role, any of its sessions,
        or a session of a member role it assumes)."""
        arns = [arn for arn in (hint.actor_issuer_arn, hint.actor) if arn]
        if any(role_of(arn) in self.member_roles for arn in arns):
            return True
        if self.role is None:
            return bool(hint.actor) and hint.actor == self.arn
        return any(role_of(arn) == self.role for arn in arns)
