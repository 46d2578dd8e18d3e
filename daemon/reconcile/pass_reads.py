"""Reads one pass (a sweep, a `plan`/`apply` run) shares across its applications and rules.

- The listing's DescribeApplication is the observation: `remember_detail` keeps it (pickled and
  zlib-compressed: ~0.7 KB instead of ~5 KB of dicts, so the 5,000 a sweep holds between its
  listing and their reconciles stay small) and the app's first reconcile `take_detail`s it
  instead of describing again. Its version id guards every write, so a stale detail costs a
  re-plan, never a wrong write.
- DescribeLogGroups by name prefix is answered from one paginated listing of the prefix's parent
  folder (`/aws/kinesis-analytics/app` -> `/aws/kinesis-analytics/`) per account and Region.
- Reads of shared resources (a role's documents; a VPC's route tables, subnets, CIDRs, network
  ACLs; NAT gateways and prefix lists) are made once per pass with the same parameters,
  whichever app asks first.

Only the optimistic first look uses these answers: a reconcile that is about to write a shared
resource re-observes under that resource's lock (daemon/reconcile/locks.py), and `answer` then
reads fresh, so every write is decided on a fresh read.
"""

from __future__ import annotations

import bisect
import json
import pickle
import threading
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from daemon import errors
from daemon.state import AppRef, Fetch

# Reads that name one shared resource and are safe to share for one pass.
SHARED_READS = frozenset(
    {
        ("iam", "GetRole"),
        ("iam", "ListRolePolicies"),
        ("iam", "GetRolePolicy"),
        ("iam", "ListAttachedRolePolicies"),
        ("iam", "GetPolicy"),
        ("iam", "GetPolicyVersion"),
        ("ec2", "DescribeRouteTables"),
        ("ec2", "DescribeSubnets"),
        ("ec2", "DescribeVpcs"),
        ("ec2", "DescribeNatGateways"),
        ("ec2", "DescribeManagedPrefixLists"),
        ("ec2", "GetManagedPrefixListEntries"),
        ("ec2", "DescribeNetworkAcls"),
    }
)


class _Groups:
    """Log group names under one parent prefix, sorted, for prefix look-ups by bisection."""

    def __init__(self, groups: list[Mapping[str, Any]]) -> None:
        self.groups = sorted(groups, key=lambda g: str(g["logGroupName"]))
        self.names = [str(g["logGroupName"]) for g in self.groups]

    def under(self, prefix: str) -> list[Mapping[str, Any]]:
        start = bisect.bisect_left(self.names, prefix)
        end = start
        while end < len(self.names) and self.names[end].startswith(prefix):
            end += 1
        return self.groups[start:end]


class PassReads:
    def __init__(self) -> None:
        self._details: dict[AppRef, bytes] = {}
        self._answers: dict[str, Any] = {}  # key -> answer, ResourceNotFound or _Groups
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def remember_detail(self, app: AppRef, detail: Mapping[str, Any]) -> None:
        blob = zlib.compress(pickle.dumps(detail, protocol=pickle.HIGHEST_PROTOCOL), 1)
        with self._lock:
            self._details[app] = blob

    def take_detail(self, app: AppRef) -> Mapping[str, Any] | None:
        """The listing's detail of `app`, once (a replan describes afresh)."""
        with self._lock:
            blob = self._details.pop(app, None)
        return None if blob is None else dict(pickle.loads(zlib.decompress(blob)))

    def answer(
        self,
        app: AppRef,
        region: str,
        service: str,
        operation: str,
        params: dict[str, Any],
        fetch: Fetch,
        fresh: bool = False,
    ) -> Mapping[str, Any] | None:
        """The pass's answer to a read, or None when it is not one a pass shares (the caller
        then reads alone). `fresh` re-reads and refreshes the shared answer."""
        if (service, operation) == ("logs", "DescribeLogGroups"):
            parent = _parent(params)
            if parent is None or fresh:  # a fresh look reads the app's own prefix alone
                return None
            key = _key(app.account, region, service, operation, {"prefix": parent})
            groups = self._once(key, fresh, lambda: _Groups(_all_groups(fetch, parent)))
            return {"logGroups": groups.under(params["logGroupNamePrefix"])}
        if (service, operation) not in SHARED_READS:
            return None
        where = "" if service == "iam" else region  # IAM is global
        key = _key(app.account, where, service, operation, params)
        found = self._once(key, fresh, lambda: _or_not_found(fetch, service, operation, params))
        if isinstance(found, errors.AwsError):
            raise found
        return found  # type: ignore[no-any-return]

    def _once(self, key: str, fresh: bool, read: Callable[[], Any]) -> Any:
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # concurrent askers of one key wait for the first read
            if fresh or key not in self._answers:
                value = read()
                with self._lock:
                    self._answers[key] = value
            return self._answers[key]


def _parent(params: Mapping[str, Any]) -> str | None:
    """The folder of a log group prefix (`/a/b/app` -> `/a/b/`); None when the read has other
    parameters or no folder deeper than the root (listing every group would cost more)."""
    prefix = params.get("logGroupNamePrefix")
    if set(params) != {"logGroupNamePrefix"} or not isinstance(prefix, str):
        return None
    parent = prefix[: prefix.rfind("/") + 1]
    return parent if len(parent.strip("/")) > 0 else None


def _all_groups(fetch: Fetch, prefix: str) -> list[Mapping[str, Any]]:
    groups: list[Mapping[str, Any]] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"logGroupNamePrefix": prefix}
        if token:
            params["nextToken"] = token
        page = fetch("logs", "DescribeLogGroups", params)
        groups += page.get("logGroups", [])
        token = page.get("nextToken")
        if not token:
            return groups


def _or_not_found(fetch: Fetch, service: str, operation: str, params: dict[str, Any]) -> Any:
    try:
        return fetch(service, operation, params)
    except errors.ResourceNotFound as exc:
        return exc


def _key(account: str, region: str, service: str, operation: str, params: Any) -> str:
    return json.dumps([account, region, service, operation, params], sort_keys=True, default=str)
