"""Which accounts the daemon covers, and how it reaches each: `accounts:` plus, with
`organization:`, every ACTIVE account AWS Organizations lists under the configured OUs
(ListOrganizationalUnitsForParent recursively, ListAccountsForParent at each level), re-read
on every sweep. Events for any other account are dropped before any AWS call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

import structlog

from daemon import errors
from daemon.aws import Aws
from daemon.desired.config import DesiredConfig, Organization
from daemon.sessions import AccountAccess

log = structlog.get_logger(__name__)


def _pages(aws: Aws, operation: str, key: str, **params: str) -> Iterator[dict[str, str]]:
    token: str | None = None
    while True:
        page = aws.call(
            "organizations", operation, **params, **({"NextToken": token} if token else {})
        )
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def discover(aws: Aws, organization: Organization) -> tuple[str, ...]:
    """Every ACTIVE account under the OUs (and their child OUs), minus the excluded."""
    found: set[str] = set()
    pending, seen = list(organization.ou_ids), set(organization.ou_ids)
    while pending:
        parent = pending.pop()
        for account in _pages(aws, "ListAccountsForParent", "Accounts", ParentId=parent):
            if account.get("Status", "ACTIVE") == "ACTIVE":
                found.add(str(account["Id"]))
        for unit in _pages(
            aws, "ListOrganizationalUnitsForParent", "OrganizationalUnits", ParentId=parent
        ):
            if unit["Id"] not in seen:
                seen.add(unit["Id"])
                pending.append(unit["Id"])
    return tuple(sorted(found - organization.exclude_accounts))


class AccountDirectory:
    """The covered accounts: the config's, plus those the last organisation read found."""

    def __init__(
        self, config: Callable[[], DesiredConfig], organizations: Callable[[], Aws]
    ) -> None:
        self._config, self._organizations = config, organizations
        self._discovered: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self.own_account = ""

    def refresh(self) -> tuple[str, ...]:
        """Re-read the organisation (no-op without `organization:`); the covered accounts.
        An AWS error propagates and the last read stays in force."""
        organization = self._config().organization
        found = () if organization is None else discover(self._organizations(), organization)
        with self._lock:
            if found != self._discovered:
                log.info("accounts_discovered", accounts=list(found))
            self._discovered = found
        return self.accounts()

    def accounts(self) -> tuple[str, ...]:
        config = self._config()
        with self._lock:
            discovered = self._discovered if config.organization is not None else ()
        return tuple(dict.fromkeys((*config.accounts, *discovered)))

    def covers(self, account: str) -> bool:
        return account in self.accounts()

    def accesses(self) -> Mapping[str, AccountAccess]:
        config = self._config()
        return {a: config.access_for(a, self.own_account) for a in self.accounts()}

    def role_arns(self) -> tuple[str, ...]:
        """The roles the daemon assumes in the covered accounts (it acts as them there)."""
        return tuple(a.role_arn for a in self.accesses().values() if a.role_arn)

    def require_roles(self) -> None:
        """Every covered account but the credentials' own needs a role to assume: SettingsError
        naming those that have none (checked at start, before any of them is read)."""
        own, config, accounts = self.own_account, self._config(), self.accounts()
        unreachable = [
            a for a, access in self.accesses().items() if a != own and not access.role_arn
        ]
        if unreachable:
            raise errors.SettingsError(
                f"the credentials are for account {own}; {config.path} covers accounts "
                f"{unreachable} without an assume_role to reach them (set it at top level or "
                f"per account; covered accounts {list(accounts)})"
            )
