"""Service control policies, from moto's AWS Organizations, for `--enforce-iam`.

A test manages SCPs with the Organizations API over HTTP (CreateOrganization, EnablePolicyType,
CreatePolicy, AttachPolicy), signed by the organization's management account (the `organization`
entry of the info JSON). moto 5.2.5 cannot invite an existing account (no handshakes), so
`POST /_sandbox/organization/accounts {"account_id": A}` stands in for
InviteAccountToOrganization + AcceptHandshake: the account joins the organization's root.

As AWS documents them (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html,
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html):
SCPs apply to the principals of member accounts only (never the management account's), once the
SERVICE_CONTROL_POLICY type is enabled on the root; every level from the root through each OU to
the account must allow an action (FullAWSAccess is attached everywhere by default), and a Deny at
any level denies.
"""

from __future__ import annotations

import json
from typing import Any

MANAGEMENT_ACCOUNT = "100000000000"
# 20 upper-case characters: moto finds the account of a request only for keys shaped like AWS's.
MANAGEMENT_KEYS = ("AKIASANDBOXORGADMIN1", "sandbox")
SCP = "SERVICE_CONTROL_POLICY"
Levels = tuple[tuple[dict[str, Any], ...], ...]


def ensure_management_admin() -> dict[str, str]:
    """An IAM user with Allow * in the management account, signing with MANAGEMENT_KEYS."""
    from moto.iam.models import iam_backends

    from sandbox.enforce_iam import ADMIN_POLICY, ADMIN_USER

    backend = iam_backends[MANAGEMENT_ACCOUNT]["aws"]
    if ADMIN_USER not in backend.users:
        backend.create_user("us-east-1", ADMIN_USER)
        backend.put_user_policy(ADMIN_USER, "AdministratorAccess", json.dumps(ADMIN_POLICY))
        key = backend.create_access_key(ADMIN_USER)
        backend.access_keys.pop(key.access_key_id, None)
        key.access_key_id, key.secret_access_key = MANAGEMENT_KEYS
        backend.access_keys[key.access_key_id] = key  # moto finds a key's account here
    return {
        "management_account_id": MANAGEMENT_ACCOUNT,
        "aws_access_key_id": MANAGEMENT_KEYS[0],
        "aws_secret_access_key": MANAGEMENT_KEYS[1],
    }


def forget() -> None:
    """After moto's reset: its reset leaves the member -> management map of Organizations."""
    from moto.organizations.models import organizations_backends

    organizations_backends.master_accounts.clear()


def _backend() -> Any:
    from moto.organizations.models import organizations_backends

    return organizations_backends[MANAGEMENT_ACCOUNT]["aws"]


def enroll(account_id: str) -> dict[str, str]:
    """`account_id` joins the management account's organization (ValueError without one)."""
    from moto.organizations import utils
    from moto.organizations.models import FakeAccount, organizations_backends

    backend = _backend()
    if backend.org is None:
        raise ValueError(f"account {MANAGEMENT_ACCOUNT} has no organization: CreateOrganization")
    if account_id == MANAGEMENT_ACCOUNT or not account_id.isdigit() or len(account_id) != 12:
        raise ValueError(f"account_id must be another 12-digit account, got {account_id!r}")
    if not any(a.id == account_id for a in backend.accounts):
        account = FakeAccount(backend.org, AccountName=account_id, Email=f"{account_id}@sandbox")
        account.id, account.joined_method = account_id, "INVITED"
        backend.accounts.append(account)
        for policy_id in (utils.DEFAULT_SCP_POLICY_ID, utils.DEFAULT_RCP_POLICY_ID):
            backend.attach_policy(PolicyId=policy_id, TargetId=account_id)
        organizations_backends.master_accounts[account_id] = (MANAGEMENT_ACCOUNT, "aws")
    return {"organization_id": backend.org.id, "account_id": account_id}


def scp_levels(account_id: str) -> Levels:
    """The SCPs of each level above a member account's principals (empty: none apply)."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account_id)
    if owner is None or owner[0] == account_id:
        return ()
    backend = organizations_backends[owner[0]][owner[1]]
    account = next((a for a in backend.accounts if a.id == account_id), None)
    root: Any = next((ou for ou in backend.ou if ou.type == "ROOT"), None) if backend.org else None
    if account is None or root is None or not any(t["Type"] == SCP for t in root.policy_types):
        return ()
    chain: list[Any] = [account]
    while chain[-1].parent_id and chain[-1] is not root:
        parent = next((ou for ou in backend.ou if ou.id == chain[-1].parent_id), None)
        if parent is None:
            break
        chain.append(parent)
    return tuple(
        tuple(json.loads(str(p.content)) for p in node.attached_policies if p.type == SCP)
        for node in reversed(chain)
    )
