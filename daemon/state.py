"""Typed values that flow through observe -> plan -> apply. All frozen."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from daemon.vocabulary import Outcome, Trigger

Mode = Literal["enforce", "dry-run", "alert"]
MODES: tuple[Mode, ...] = ("enforce", "dry-run", "alert")

# Application statuses in which the service refuses changes (ResourceInUseException).
TRANSITIONAL_STATUSES = frozenset(
    {
        "STARTING",
        "STOPPING",
        "UPDATING",
        "AUTOSCALING",
        "FORCE_STOPPING",
        "ROLLING_BACK",
        "MAINTENANCE",
        "DELETING",
    }
)


@dataclass(frozen=True, order=True)
class AppRef:
    """One Managed Flink application, the unit of reconciliation."""

    account: str
    region: str
    name: str

    @property
    def arn(self) -> str:
        return f"arn:aws:kinesisanalytics:{self.region}:{self.account}:application/{self.name}"

    def __str__(self) -> str:
        return f"{self.account}/{self.region}/{self.name}"


@dataclass(frozen=True)
class Observed:
    """The real state of one application, as read from AWS during one reconcile.

    `detail` is DescribeApplication's ApplicationDetail exactly as returned; `facts` holds what
    each enabled rule read beyond it (keyed by rule id; a rule gets its own, typed, with
    `Rule.facts`), e.g. log streams or role documents.
    """

    app: AppRef
    detail: Mapping[str, Any]
    tags: Mapping[str, str]
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def version_id(self) -> int:
        return int(self.detail.get("ApplicationVersionId", 0))

    @property
    def status(self) -> str:
        return str(self.detail.get("ApplicationStatus", ""))


@dataclass(frozen=True)
class Drift:
    """One field of one resource that differs from the desired state."""

    rule: str
    app: AppRef
    field: str
    current: Any
    desired: Any
    message: str
    fixable: bool = True
    # ARN of what a fix would change: the application, its role, a log group. Shared resources
    # (a role used by three apps) are changed once per resource, not once per app.
    resource: str = ""


@dataclass(frozen=True)
class Call:
    """One AWS API call a fix wants made. Built by pure code; only the executor sends it."""

    service: str  # boto3 service name, e.g. "kinesisanalyticsv2"
    operation: str  # API operation name, e.g. "UpdateApplication"
    params: Mapping[str, Any]
    resource: str = ""
    # kinesisanalyticsv2 mutations: the executor adds CurrentApplicationVersionId itself.
    versioned: bool = False


@dataclass(frozen=True)
class WaiverRef:
    """The waiver (desired state `waivers:`) that allows a rule's drift on an application."""

    id: str
    ticket: str
    approved_by: str
    expires: datetime  # UTC; the drift reopens at this moment

    @property
    def text(self) -> str:
        """How plan, report and audit name it: `waived (ticket, approver, expires)`."""
        return f"waived ({self.ticket}, {self.approved_by}, {self.expires_text})"

    @property
    def expires_text(self) -> str:
        return self.expires.strftime("%Y-%m-%dT%H:%M:%SZ")

    def fields(self) -> dict[str, str]:
        return {
            "id": self.id,
            "ticket": self.ticket,
            "approved_by": self.approved_by,
            "expires": self.expires_text,
        }


@dataclass(frozen=True)
class ApprovalRef:
    """The approval (`flink-remediator approve`) a restarting fix was made under."""

    id: str
    approved_by: str
    ticket: str
    plan_digest: str

    def fields(self) -> dict[str, str]:
        return {
            "id": self.id,
            "approved_by": self.approved_by,
            "ticket": self.ticket,
            "plan_digest": self.plan_digest,
        }


@dataclass(frozen=True)
class Action:
    """What the executor does for some drifts: calls to make (enforce, dry-run) or an alert."""

    app: AppRef
    rules: tuple[str, ...]
    mode: Mode
    drifts: tuple[Drift, ...]
    calls: tuple[Call, ...] = ()
    # IAM actions the rules declared as theirs to write; the executor refuses any other call.
    write_actions: frozenset[str] = frozenset()
    # SNS topic told about an alerted action (rules.notify_topic).
    notify_topic: str = ""
    # The calls restart the application: it is RUNNING and one of them changes its configuration.
    restarts: bool = False
    # Set when the calls must not be sent now: the outcome to record and why (a disruption
    # window, the fix budget, a backoff after a rolled-back fix); `deferred_until` for a window.
    held: Outcome | None = None
    reason: str = ""
    deferred_until: datetime | None = None
    # A restarting fix: per rule, the `disruption` settings (as configured, plain data) its
    # decision (make now, defer, alert) was made with, so a saved plan can tell it still holds.
    disruption: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    # A merged action: the one-rule actions it was merged from (to retry without one of them).
    parts: tuple[Action, ...] = ()
    # held "waived": the waiver that allows these drifts (no calls are planned).
    waiver: WaiverRef | None = None
    # A restarting fix released by an approval (disruption.running: approved).
    approval: ApprovalRef | None = None

    @property
    def alert_only(self) -> bool:
        return self.mode == "alert" or not self.calls


@dataclass(frozen=True)
class Plan:
    """Everything one reconcile of one application found and intends to do."""

    app: AppRef
    version_id: int
    actions: tuple[Action, ...] = ()

    @property
    def drifts(self) -> tuple[Drift, ...]:
        return tuple(d for a in self.actions for d in a.drifts)


Fetch = Callable[[str, str, dict[str, Any]], Mapping[str, Any]]


class SharedReads(Protocol):
    """A pass's shared reads (daemon.reconcile.pass_reads.PassReads): the listing's details
    and the reads a pass answers once for all its applications."""

    def take_detail(self, app: AppRef) -> Mapping[str, Any] | None: ...

    def answer(
        self,
        app: AppRef,
        region: str,
        service: str,
        operation: str,
        params: dict[str, Any],
        fetch: Fetch,
        fresh: bool = False,
    ) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class Cause:
    """Why a reconcile ran: a sweep, the CLI, or an event (with who caused it)."""

    trigger: Trigger = "cli"
    event_id: str = ""
    actor: str = ""
    # A pass's shared reads, carried with the work item from a sweep or `plan`/`apply`.
    reads: SharedReads | None = field(default=None, compare=False, repr=False)
