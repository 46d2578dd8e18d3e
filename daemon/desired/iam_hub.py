"""The policies of a many-account deployment, split by where they are attached:

- `hub_policy`: the daemon's own role in the hub account: its identity, the event queue (and
  DLQ, and the queue's key), `sts:AssumeRole` on the member roles only (the `assume_role`
  template with any account, and the per-account roles), and the Organizations listing when
  `organization:` discovers accounts, and the Security Hub findings (imported with the hub's
  own credentials). Nothing that reads or changes Flink.
- `member_policy`: the member role in each account: every read and write the rules need (as
  `daemon_policy` without the queue), with the writes on the member role itself denied.
If the hub account runs applications too, attach the member policy to the daemon's role there.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from daemon.desired.config import DesiredConfig
from daemon.desired.iam_grants import allow
from daemon.desired.iam_policy import EventQueue, _queue, daemon_policy, evidence, state_table
from daemon.errors import ConfigError
from daemon.sessions import ACCOUNT_PLACEHOLDER

ORGANIZATION_READS = (
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
)


def member_roles(config: DesiredConfig) -> list[str]:
    """ARNs (or ARN patterns, any account) of every role the daemon may assume."""
    roles = {a.role_arn for a in config.account_entries.values() if a.role_arn}
    if config.assume_role:
        roles.add(config.assume_role.replace(ACCOUNT_PLACEHOLDER, "*"))
    if not roles:
        raise ConfigError(
            config.path,
            [
                f"{config.path}: assume_role: needed for --hub/--member (no account has a "
                "role to assume): add a top-level `assume_role: "
                f"arn:aws:iam::{ACCOUNT_PLACEHOLDER}:role/flink-remediator-member` (the role "
                "in each member account), or `assume_role:` on an `accounts:` entry "
                "(docs/configuration.md)"
            ],
        )
    return sorted(roles)


def hub_policy(
    config: DesiredConfig, queue: EventQueue | None, state_table_arn: str = ""
) -> dict[str, Any]:
    statements = [
        allow("Identity", ["sts:GetCallerIdentity"], ["*"]),
        allow("AssumeMemberRoles", ["sts:AssumeRole"], member_roles(config)),
    ]
    if config.organization is not None:
        statements.append(allow("DiscoverAccounts", list(ORGANIZATION_READS), ["*"]))
    if queue is not None:
        statements += _queue(queue)
    statements += state_table(state_table_arn)
    # Findings are imported with the hub's own credentials, for any account it may discover.
    statements += evidence(config, ("*",) if config.organization else config.accounts)
    return {"Version": "2012-10-17", "Statement": statements}


def member_policy(config: DesiredConfig, read_only: bool = False) -> dict[str, Any]:
    """The rules' reads and writes with resources in any account (the same policy is attached
    in every member account, e.g. by StackSets, including discovered ones); writes on the
    member role itself are denied."""
    roles = member_roles(config)
    template = config.assume_role
    own = template.replace(ACCOUNT_PLACEHOLDER, "*") if template else roles[0]
    anywhere = replace(config, accounts=("*",), _memo={})
    return daemon_policy(anywhere, None, own_role_arn=own, read_only=read_only, with_evidence=False)
