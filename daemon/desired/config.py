"""The loaded desired state: frozen values the rest of the daemon reads.

Built only by `daemon.desired.loader` after validation, so every value here is known good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from daemon.desired.glob import glob_matches
from daemon.desired.model import ConfigurableRule, ExecutionRolesModel
from daemon.desired.waiver_model import ALL_RULES, DEFAULT_MAX_DAYS, DEFAULT_WARN_DAYS
from daemon.sessions import ACCOUNT_PLACEHOLDER, AccountAccess
from daemon.state import AppRef, Mode, WaiverRef
from remediations.base import RuleSettings
from remediations.disruption import Disruption


def _any_glob(value: str, globs: tuple[str, ...]) -> bool:
    return any(glob_matches(glob, value) for glob in globs)


@dataclass(frozen=True)
class Match:
    """Which applications an override applies to. Every given criterion must hold; within one
    criterion any listed glob may match. None means "not a criterion"."""

    names: tuple[str, ...] | None = None
    tags: Mapping[str, tuple[str, ...]] | None = None
    accounts: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None

    def matches(self, app: AppRef, tags: Mapping[str, str]) -> bool:
        if self.names is not None and not _any_glob(app.name, self.names):
            return False
        if self.accounts is not None and app.account not in self.accounts:
            return False
        if self.regions is not None and not _any_glob(app.region, self.regions):
            return False
        if self.tags is not None:
            for key, globs in self.tags.items():
                value = tags.get(key)
                if value is None or not _any_glob(value, globs):
                    return False
        return True


@dataclass(frozen=True)
class Override:
    name: str
    match: Match
    # rule id -> only the fields this override sets (already validated).
    rules: Mapping[str, Mapping[str, Any]]
    line: int = 0


@dataclass(frozen=True)
class IgnoreTag:
    key: str
    value: str
    # Honour the tag only where a waiver of every rule covers the app (else: managed).
    requires_waiver: bool = False

    def applies(self, tags: Mapping[str, str]) -> bool:
        value = tags.get(self.key)
        return value is not None and value.strip().lower() == self.value.strip().lower()


@dataclass(frozen=True)
class WaiverPolicy:
    max_days: int = DEFAULT_MAX_DAYS
    warn_days: int = DEFAULT_WARN_DAYS


@dataclass(frozen=True)
class Waiver:
    """One `waivers:` entry (daemon/desired/waivers.py checks and matches them)."""

    id: str
    match: Match
    rules: tuple[str, ...]  # rule ids, or ("*",) for every rule
    reason: str
    ticket: str
    approved_by: str
    expires: datetime  # UTC
    line: int = 0

    @property
    def ref(self) -> WaiverRef:
        return WaiverRef(self.id, self.ticket, self.approved_by, self.expires)

    @property
    def every_rule(self) -> bool:
        return ALL_RULES in self.rules

    def in_force(self, now: datetime) -> bool:
        return now < self.expires

    def covers(self, app: AppRef, tags: Mapping[str, str], now: datetime) -> bool:
        return self.in_force(now) and bool(self.match.matches(app, tags))


@dataclass(frozen=True)
class SecurityHubSettings:
    """`evidence.security_hub`: where and how findings are imported (off by default)."""

    enabled: bool = False
    region: str | None = None  # None: the first configured region
    severity: Mapping[str, str] = field(default_factory=dict)  # rule id -> label, overrides
    flush_interval_seconds: int = 60
    runbook_url: str = ""


@dataclass(frozen=True)
class Organization:
    """`organization:`: every ACTIVE account under these OUs or roots, recursively."""

    ou_ids: tuple[str, ...]
    exclude_accounts: frozenset[str] = frozenset()


# What loading does with a waiver already expired: refuse the file (validate, plan, a hot
# reload) or leave the waiver out and say so (the daemon's start: the fleet stays protected).
ExpiredWaivers = Literal["error", "ignore"]


@dataclass(frozen=True, eq=False)
class DesiredConfig:
    """A validated desired-state file. `rules` holds every known rule's settings after the
    top-level `rules:` section (rule defaults where the file says nothing)."""

    path: str
    sha256: str  # of the file's bytes: shown as the config_info{sha256} metric
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    default_mode: Mode | None
    ignore_tag: IgnoreTag | None
    rules: Mapping[str, RuleSettings]
    overrides: tuple[Override, ...]
    known_rules: Mapping[str, ConfigurableRule]
    security_hub: SecurityHubSettings = field(default_factory=SecurityHubSettings)
    # `controls:` rule id -> framework references (e.g. "PCI DSS 10.2"); only rules listed.
    controls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    execution_roles: ExecutionRolesModel | None = None
    daemon_role_arn: str | None = None
    # `defaults.disruption`: for rules whose settings set no `disruption`.
    default_disruption: Disruption | None = None
    # `accounts:` given as mappings (explicit role / external id), the top-level role template
    # ("arn:aws:iam::{account}:role/...") and external id, and organisation discovery.
    account_entries: Mapping[str, AccountAccess] = field(default_factory=dict)
    assume_role: str | None = None
    external_id: str | None = None
    organization: Organization | None = None
    # `waivers:` in file order, and `waiver_policy:` (the limits they were checked against).
    waivers: tuple[Waiver, ...] = ()
    waiver_policy: WaiverPolicy = field(default_factory=WaiverPolicy)
    # Expired waivers left out when the daemon started (`expired_waivers="ignore"`): per
    # waiver id, the problem line `validate` would report (file, line, field).
    expired_waivers: Mapping[str, str] = field(default_factory=dict)
    # resolve() memo: matched override indices -> resolved rules. Not part of the value.
    _memo: dict[tuple[int, ...], Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", MappingProxyType(dict(self.rules)))
        object.__setattr__(self, "known_rules", MappingProxyType(dict(self.known_rules)))

    @staticmethod
    def evidence_from(validated: Any) -> dict[str, Any]:
        """The `security_hub` and `controls` keyword arguments, from the validated model."""
        hub = validated.evidence.security_hub
        severity = {k: v for k, v in hub.severity.model_dump().items() if v is not None}
        refs = {k: tuple(v) for k, v in validated.controls.model_dump().items() if v is not None}
        settings = SecurityHubSettings(
            hub.enabled, hub.region, severity, hub.flush_interval_seconds, hub.runbook_url
        )
        return {"security_hub": settings, "controls": refs}

    def access_for(self, account: str, own_account: str) -> AccountAccess:
        """How to reach `account`: its own role, else the template, except that the
        credentials' own account uses them directly unless its entry names a role."""
        entry = self.account_entries.get(account)
        role = entry.role_arn if entry is not None else None
        if role is None and account != own_account:
            role = self.assume_role
        if role is None:
            return AccountAccess(account)
        external = (entry.external_id if entry is not None else None) or self.external_id
        return AccountAccess(account, role.replace(ACCOUNT_PLACEHOLDER, account), external)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(self.known_rules)
