"""Approvals of restarting fixes (private to `Safeguards`): one item per application in the
state store (`approval#<app>`), written by `flink-remediator approve` and read by the daemon.

An approval is used at most once: the daemon moves it from `approved` to `used` (or `refused`,
with the reason) by a conditional put on the version it read, so when two replicas race only
one write succeeds and only that replica sends the approved calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from daemon.reconcile.safeguards._codec import decode_as, encode
from daemon.state import AppRef, ApprovalRef
from daemon.store import Item, StateStore, StoreUnavailable, VersionConflict, get

ApprovalState = Literal["approved", "used", "refused"]
KEEP = timedelta(days=400)  # an approval stays readable (report, audit) this long


@dataclass(frozen=True)
class Approval:
    """An operator's approval of the deferred restarting fixes of one saved plan's app."""

    id: str
    app: AppRef
    approved_by: str
    ticket: str
    plan_digest: str  # sha256 of the planned calls + the version id the plan saw
    version_id: int
    rules: tuple[str, ...]
    calls: tuple[Mapping[str, Any], ...]  # the approved calls, as the plan shows them
    created: datetime
    opens: datetime  # the approval may be used from here ...
    closes: datetime  # ... until here (its window, the rules' windows, or a week)
    window: str = ""  # the window the approver gave ("": the rules' windows)
    state: ApprovalState = "approved"
    reason: str = ""  # why it was refused
    settled_at: datetime | None = None
    item_version: int = 0  # the stored version it was read at (for the conditional write)

    @property
    def text(self) -> str:
        """How the report shows it: state (ticket, approver, digest): id and what became of it."""
        head = f"{self.state} ({self.ticket}, {self.approved_by}, sha256:{self.plan_digest[:12]})"
        if self.state == "approved":
            return f"{head}: {self.id}, usable {_z(self.opens)} to {_z(self.closes)}"
        when = _z(self.settled_at) if self.settled_at else ""
        return f"{head}: {self.id} at {when}" + (f": {self.reason}" if self.reason else "")

    @property
    def ref(self) -> ApprovalRef:
        return ApprovalRef(self.id, self.approved_by, self.ticket, self.plan_digest)


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def approval_key(app: AppRef) -> str:
    return f"approval#{app}"


class Approvals:
    def __init__(self, store: StateStore) -> None:
        self._store = store

    def current(self, app: AppRef) -> Approval | None:
        """The application's latest approval (any state); raises StoreUnavailable."""
        item = get(self._store, approval_key(app))
        if item is None:
            return None
        return replace(decode_as(Approval, item.data), item_version=item.version)

    def record(self, approval: Approval) -> Approval:
        """Store a new approval; it replaces the app's previous one, whatever its state."""
        for _ in range(3):
            before = get(self._store, approval_key(approval.app))
            try:
                return self._put(approval, before.version if before else 0)
            except VersionConflict:
                continue
        raise StoreUnavailable(f"{approval_key(approval.app)}: kept changing while written")

    def settle(self, approval: Approval, state: ApprovalState, now: datetime, reason: str) -> bool:
        """Move an `approved` approval to `used` or `refused`: False when another process
        settled or replaced it first (the conditional write was refused)."""
        settled = replace(approval, state=state, reason=reason, settled_at=now)
        try:
            self._put(settled, approval.item_version)
        except VersionConflict:
            return False
        return True

    def _put(self, approval: Approval, version: int) -> Approval:
        data = encode(replace(approval, item_version=0))
        item = Item(approval_key(approval.app), data, approval.created + KEEP, version)
        stored = self._store.put(item)
        return replace(approval, item_version=stored.version)
