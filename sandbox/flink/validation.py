"""Checks the service makes against the rest of the account before it accepts a change.

- ServiceExecutionRole: the role exists and its trust policy lets kinesisanalytics.amazonaws.com
  assume it for this application (CreateApplication, ServiceExecutionRoleUpdate), evaluated with
  conditions and Deny (trust.py; the same check runs at every start and restart, lifecycle.py).
- A customer managed key exists in this Region, is enabled, and its key policy allows both
  service principals the Managed Flink documentation names.
- SnapshotMode only changes APPLICATION_SNAPSHOTS_LEGACY -> ENHANCED_SNAPSHOTS, on FLINK-1_20+.
Each rejection is an InvalidArgumentException. AWS documents no message texts for these: the
messages are generic sentences and do not name a request field (a client must not rely on them).
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.flink.errors import invalid
from sandbox.flink.store import Lookups
from sandbox.flink.trust import SERVICE, assume_denied_message, policy_document, service_may_assume

KEY_PRINCIPALS = (SERVICE, "infrastructure.kinesisanalytics.amazonaws.com")
ENHANCED_SNAPSHOTS_FROM = (1, 20)
LEGACY = "APPLICATION_SNAPSHOTS_LEGACY"
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


def runtime_version(runtime: str) -> tuple[int, ...]:
    """FLINK-1_20 -> (1, 20), so that versions compare as numbers."""
    return tuple(int(part) for part in runtime.split("-")[-1].split("_"))


def _statements(document: str) -> list[dict[str, Any]]:
    statements = policy_document(document).get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements])]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allowed_services(document: str, actions: tuple[str, ...]) -> set[str]:
    """Service principals an Allow statement grants one of `actions` (or a wildcard) to."""
    services: set[str] = set()
    for statement in _statements(document):
        if statement.get("Effect") != "Allow":
            continue
        granted = {a.lower() for a in _as_list(statement.get("Action", []))}
        wildcards = {"*"} | {a.split(":")[0] + ":*" for a in actions}
        if not granted & (set(actions) | wildcards):
            continue
        principal = statement.get("Principal", {})
        if isinstance(principal, dict):
            services.update(_as_list(principal.get("Service", [])))
    return services


def check_execution_role(lookups: Lookups, arn: str, app_arn: str, account: str) -> str:
    """The role `arn` for the application `app_arn` (its trust is evaluated for that app)."""
    if not _ROLE_ARN.match(arn):
        raise invalid(f"{arn} is not a valid IAM role ARN.")
    trust = lookups.role_trust_policy(arn)
    if trust is None or not service_may_assume(trust, app_arn, account):
        raise invalid(assume_denied_message(arn))
    return arn


def check_customer_key(lookups: Lookups, key_id: str) -> None:
    found = lookups.kms_key(key_id)
    if found is None:
        raise invalid(f"KMS key {key_id} not found.")
    state, policy = found
    if state != "Enabled":
        raise invalid(f"KMS key {key_id} is {state}, not Enabled.")
    allowed = _allowed_services(policy, ("kms:decrypt", "kms:describekey"))
    missing = [p for p in KEY_PRINCIPALS if p not in allowed]
    if missing:
        raise invalid(
            f"The key policy of KMS key {key_id} does not allow {', '.join(missing)} to use it."
        )


def check_snapshot_mode(runtime: str, before: str | None, after: str | None) -> None:
    """`before`/`after` None means the default, APPLICATION_SNAPSHOTS_LEGACY."""
    before, after = before or LEGACY, after or before or LEGACY
    if after == before:
        return
    if (before, after) != (LEGACY, "ENHANCED_SNAPSHOTS"):
        raise invalid(
            f"Snapshot mode cannot change from {before} to {after}; only "
            "APPLICATION_SNAPSHOTS_LEGACY -> ENHANCED_SNAPSHOTS is supported."
        )
    if not runtime.startswith("FLINK-") or runtime_version(runtime) < ENHANCED_SNAPSHOTS_FROM:
        raise invalid(
            f"ENHANCED_SNAPSHOTS needs FLINK-1_20 or later; the application runs {runtime}."
        )
