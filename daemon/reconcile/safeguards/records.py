"""The records behind `Safeguards`: plain frozen dataclasses with wall-clock times, kept per
application in one `AppState` item of the state store (daemon/store)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from daemon.state import Action, AppRef, Cause, Drift, WaiverRef

WallClock = Callable[[], datetime]
FindingStatus = Literal["FAILED", "PASSED"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Pending:
    """A change the service accepted and is still applying."""

    action: Action
    cause: Cause
    operation_id: str  # "" when the reply had none: then the app's status tells
    version_before: int
    started: datetime
    polls: int = 0
    version_after: int = 0  # the app's version our change produced (0: not known)
    write_id: str = ""  # the ledger entry of the write that started it
    adopted: bool = False  # taken over from a sender that died before recording it


@dataclass(frozen=True)
class Backoff:
    """(app, rule) whose fix did not hold: no new attempt before `until` (None: until the app
    or the rule's settings change)."""

    until: datetime | None
    seconds: float
    version: int  # the app's version when the fix was given up: a change by someone else resets
    settings: str  # the rule's settings then: a config change resets


@dataclass(frozen=True)
class FixCharges:
    """The successful fixes of one (app, rule) inside the fight window."""

    times: tuple[datetime, ...] = ()
    fighting: bool = False
    last_actor: str = ""


@dataclass(frozen=True)
class Deferral:
    """When an application's earliest deferred fix may be made, and the rules deferred."""

    until: datetime
    rules: frozenset[str]


@dataclass(frozen=True)
class FindingRecord:
    """What one Security Hub finding says, gathered by the publisher from verdicts."""

    app: AppRef
    rule: str
    summary: str  # the rule's one-line summary (the control's name)
    status: FindingStatus
    drifts: tuple[Drift, ...]  # open drift (FAILED) or what was fixed (PASSED after a fix)
    drift_by: str  # CloudTrail actor of the change that caused the drift ("" unknown)
    first_seen: datetime
    observed_at: datetime
    resolved_by: str = ""  # PASSED: the daemon's identity (its fix) or who cleared it
    resolution: str = ""  # PASSED: "fixed" | "cleared" | "compliant"
    references: tuple[str, ...] = ()  # framework references from `controls:`
    waiver: WaiverRef | None = None  # FAILED but waived: Workflow SUPPRESSED, the waiver noted


@dataclass(frozen=True)
class Check:
    """The answer before a fix of (app, rule): go, or hold because `reason`."""

    reason: str = ""

    @property
    def go(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class SentWrite:
    """A write the daemon is sending (recorded before it is sent): if its sender dies before
    recording the outcome, the next reconcile of the app finds it and confirms what it did."""

    write_id: str
    action: Action
    cause: Cause
    operation: str  # the first call's API operation
    digest: str  # sha256 of the planned calls
    version_before: int  # the app's version the write was planned on
    sent_at: datetime
    request_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class OwnWrite:
    """The ledger of the daemon's own writes, by AWS request id (the own-credential canary
    matches CloudTrail events against it)."""

    request_id: str
    app: AppRef
    resource: str
    action: str  # service:Operation
    rules: tuple[str, ...]
    digest: str
    sent_at: datetime
    write_id: str = ""
    # Sensitive parts the planned calls sent (daemon/apply/planned_writes.py): the canary
    # flags an event carrying any other.
    planned: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppState:
    """Everything the safeguards keep about one application: one item in the state store."""

    pending: tuple[Pending, ...] = ()
    backoffs: Mapping[str, Backoff] = field(default_factory=dict)
    charges: Mapping[str, FixCharges] = field(default_factory=dict)
    deferral: Deferral | None = None
    announced: Mapping[str, frozenset[str]] = field(default_factory=dict)
    findings: Mapping[str, FindingRecord] = field(default_factory=dict)
    sent: tuple[SentWrite, ...] = ()
