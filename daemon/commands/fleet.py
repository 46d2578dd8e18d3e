"""What `plan`, `apply`, `report` and `replay` share: the gateway over every covered account
(member accounts through their assumed role) and one complete inventory of them, opened by one
set-up (`open_fleet`)."""

from __future__ import annotations

from dataclasses import dataclass

from daemon import errors
from daemon.commands import exits
from daemon.commands.preflight import caller_identity
from daemon.desired.config import DesiredConfig
from daemon.reconcile.accounts import AccountDirectory
from daemon.reconcile.inventory import Inventory, index_applications
from daemon.reconcile.pass_reads import PassReads
from daemon.sessions import AwsByAccount
from daemon.state import AppRef


@dataclass(frozen=True)
class Fleet:
    aws: AwsByAccount
    directory: AccountDirectory
    own_arn: str

    def assume_roles(self) -> dict[str, dict[str, str]]:
        """Each account reached through a role: the role and external id, as a saved plan
        records them for `apply --plan-file` to assume again."""
        roles: dict[str, dict[str, str]] = {}
        for account, access in self.directory.accesses().items():
            if access.role_arn:
                external = {"external_id": access.external_id} if access.external_id else {}
                roles[account] = {"role_arn": access.role_arn, **external}
        return roles


def connect(config: DesiredConfig, home_region: str) -> Fleet:
    """Identify the credentials, read the organisation if configured, and check that every
    covered account other than the credentials' own has a role to assume (SettingsError)."""
    directory = AccountDirectory(lambda: config, lambda: aws.region(home_region))
    aws = AwsByAccount(directory.accesses, home_region)
    caller = aws.identify()
    directory.own_account = caller["Account"]
    directory.refresh()
    directory.require_roles()
    return Fleet(aws, directory, caller["Arn"])


def index_all(
    fleet: Fleet, config: DesiredConfig, inventory: Inventory, reads: PassReads | None = None
) -> tuple[AppRef, ...]:
    """Every application of every covered account and configured region (`reads` keeps each
    DescribeApplication as the observation of the pass that follows)."""
    found: list[AppRef] = []
    for account in fleet.directory.accounts():
        try:
            clients = fleet.aws.account(account)
            found += index_applications(clients, account, config.regions, inventory, reads)
        except errors.AwsError as exc:
            # The command stops either way: say which account, whatever the kind of failure.
            raise errors.PermanentAwsError(
                exc.operation, exc.code, f"account {account}: {exc}"
            ) from exc
    return tuple(found)


@dataclass(frozen=True)
class OpenFleet:
    """A connected fleet, its complete inventory and every application found."""

    fleet: Fleet
    inventory: Inventory
    apps: tuple[AppRef, ...]

    @property
    def aws(self) -> AwsByAccount:
        return self.fleet.aws


def open_fleet(
    config: DesiredConfig, home_region: str, reads: PassReads | None = None
) -> OpenFleet:
    """The set-up of every one-shot command that reads the fleet: credentials (exit
    UNAVAILABLE without them), the accounts and their roles, the inventory. Raises
    exits.Failure with the `error:` line."""
    identity = caller_identity(home_region)
    if isinstance(identity, str):
        raise exits.Failure(identity, exits.UNAVAILABLE)
    try:
        fleet = connect(config, home_region)
        inventory = Inventory()
        apps = index_all(fleet, config, inventory, reads)
    except (errors.SettingsError, errors.AwsError) as exc:  # the config's, not a flag
        raise exits.Failure(str(exc)) from None
    return OpenFleet(fleet, inventory, apps)
