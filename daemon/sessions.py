"""Clients per (account, region): the credentials' own account directly, every other account
through an STS AssumeRole session of its member role.

Assumed-role sessions refresh themselves: botocore's `AssumeRoleCredentialFetcher` behind
`DeferredRefreshableCredentials` assumes the role on first use and again shortly before the
credentials expire (botocore's refresh windows), so no timer of ours is involved.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import boto3
import botocore.session
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)

from daemon import errors
from daemon.aws import Aws, AwsByRegion
from daemon.botocore_data import new_session
from daemon.rate_limits import RateLimits
from daemon.state import AppRef

SESSION_NAME = "flink-remediator"
ACCOUNT_PLACEHOLDER = "{account}"
OWN = "own"  # the rate-limit key of the credentials' own account (its id is read later)


@dataclass(frozen=True)
class AccountAccess:
    """How the daemon reaches one account: its own credentials (no role), or a role to assume."""

    account: str
    role_arn: str | None = None
    external_id: str | None = None


class _AssumedRole(CredentialProvider):  # type: ignore[misc]
    METHOD = "assume-role"

    def __init__(self, credentials: DeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> DeferredRefreshableCredentials:
        return self._credentials


def assumed_role_session(
    source: boto3.session.Session, access: AccountAccess, region: str
) -> boto3.session.Session:
    """A boto3 session whose credentials are `access.role_arn` assumed with `source`'s own
    (with the external id when given), refreshed by botocore before they expire."""
    assert access.role_arn is not None
    base = source._session  # the botocore session behind the daemon's own credentials
    own: Credentials | None = base.get_credentials()
    if own is None:
        raise errors.SettingsError("no AWS credentials to assume member roles with")
    extra: dict[str, str] = {"RoleSessionName": SESSION_NAME}
    if access.external_id:
        extra["ExternalId"] = access.external_id
    fetcher = AssumeRoleCredentialFetcher(
        functools.partial(base.create_client, region_name=region),
        own,
        access.role_arn,
        extra_args=extra,
    )
    credentials = DeferredRefreshableCredentials(fetcher.fetch_credentials, _AssumedRole.METHOD)
    member = botocore.session.Session()
    member.register_component(
        "credential_provider", CredentialResolver([_AssumedRole(credentials)])
    )
    return new_session(member, region)


class AwsByAccount:
    """The gateway factory: one `AwsByRegion` per account, created on first use.

    `accesses()` says how each configured (or discovered) account is reached; it is read on
    every first use of an account, so a reloaded config or an organisation re-read applies.
    Callable as `aws_for(app)`; `region(r)` is the daemon's own account (queue, Security Hub).
    """

    def __init__(
        self,
        accesses: Callable[[], Mapping[str, AccountAccess]] = dict,
        home_region: str = "us-east-1",
        source: boto3.session.Session | None = None,
        factory: Callable[[str, boto3.session.Session | None], Aws] | None = None,
        limits: RateLimits | None = None,
    ) -> None:
        self._accesses, self._home_region = accesses, home_region
        self._source = source or new_session()
        self._factory = factory or (lambda region, session: Aws(region, session))
        self._limits = limits
        self._own = AwsByRegion(lambda region: self._build(region, self._source, OWN))
        self._members: dict[AccountAccess, AwsByRegion] = {}
        self._lock = threading.Lock()
        self.own_account = ""

    def identify(self) -> dict[str, str]:
        """GetCallerIdentity with the daemon's own credentials (sets `own_account`)."""
        caller = self._own.region(self._home_region).call("sts", "GetCallerIdentity")
        self.own_account = str(caller["Account"])
        # UserId: a role session's AROA...:session, a user's AIDA...: what SQS's SenderId shows.
        return {
            "Account": self.own_account,
            "Arn": str(caller["Arn"]),
            "UserId": str(caller.get("UserId", "")),
        }

    @property
    def own(self) -> AwsByRegion:
        """The clients of the credentials' own account."""
        return self._own

    def region(self, region: str) -> Aws:
        return self._own.region(region)

    def account(self, account: str) -> AwsByRegion:
        access = self._accesses().get(account)
        if access is None or access.role_arn is None:
            if account == self.own_account or not self.own_account:
                return self._own
            raise errors.PermanentAwsError(
                "AssumeRole",
                "NoRoleForAccount",
                f"account {account} is not the credentials' own ({self.own_account}) and the "
                "config gives it no assume_role",
            )
        with self._lock:
            clients = self._members.get(access)
            if clients is None:
                session = assumed_role_session(self._source, access, self._home_region)
                account_id = access.account
                clients = AwsByRegion(lambda region: self._build(region, session, account_id))
                self._members[access] = clients
            return clients

    def __call__(self, app: AppRef) -> Aws:
        return self.account(app.account).region(app.region)

    def _build(self, region: str, session: boto3.session.Session | None, account: str) -> Aws:
        aws = self._factory(region, session)
        if self._limits is not None:
            aws.limit = self._limits.binding(account, region)
        return aws
