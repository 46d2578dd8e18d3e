"""recovery_point: a RUNNING application's newest READY snapshot is younger than the target.

`snapshots` checks that snapshots are enabled; this rule proves a recovery point exists:
- ListApplicationSnapshots; the newest snapshot in status READY must be at most
  `max_age_minutes` old (none at all is a finding). Only RUNNING applications are judged: a
  stopped one accumulates no state to lose.
- opt-in `schedule.every_minutes`: when the newest snapshot the daemon took (names under
  `name_prefix`) is older than that, the fix is CreateApplicationSnapshot named
  `<prefix><UTC timestamp>`. A scheduled action fits the reconcile model as a drift: every
  sweep re-checks the age, and a due snapshot is planned like any fix (not a restarting change).
  The service takes one only while RUNNING with snapshots enabled; a transitional status
  (an update, scaling, an operation in progress) makes the reconcile retry later before any
  rule runs.
- opt-in `retain: {count, days}` prunes the daemon's own snapshots (by name prefix) beyond the
  newest `count` or older than `days`, never the newest READY snapshot and never a snapshot
  whose name is not under the prefix (the owner's, AWS's on update/stop).
Age is measured on the service's clock (the Date header of the ListApplicationSnapshots
answer), not the host's, so a skewed host clock neither hides nor invents a stale snapshot.
https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_ListApplicationSnapshots.html
https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_CreateApplicationSnapshot.html
https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_SnapshotDetails.html
https://docs.aws.amazon.com/managed-flink/latest/java/how-snapshots.html
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from daemon.state import AppRef, Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.app_config import section
from remediations.base import APP_EVENTS, Reader, Rule, RuleSettings
from remediations.grants import Scope, Statement, application_writes
from remediations.snapshots import SNAPSHOTS

FLINK = "kinesisanalyticsv2"
AGE, DUE, PRUNE = "RecoveryPoint", "SnapshotSchedule", "Snapshots."


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    every_minutes: int = Field(
        ge=5, description="Take a snapshot when the daemon's newest is older."
    )


class Retain(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    count: int = Field(ge=1, description="Keep at most this many of the daemon's snapshots.")
    days: int | None = Field(None, ge=1, description="Delete the daemon's older than this.")


class Settings(RuleSettings):
    max_age_minutes: int = Field(1440, ge=1, description="Newest READY snapshot at most this old.")
    schedule: Schedule | None = Field(None, description="Opt in: take snapshots on a schedule.")
    retain: Retain | None = Field(None, description="Opt in: prune the daemon's own snapshots.")
    name_prefix: str = Field(
        "flink-remediator-",
        pattern=r"^[a-zA-Z0-9_.-]{1,200}$",
        description="Names of the daemon's snapshots; only these are ever deleted.",
    )


@dataclass(frozen=True)
class Snapshot:
    name: str
    status: str  # CREATING | READY | DELETING | FAILED
    created: float  # epoch seconds (SnapshotCreationTimestamp)


@dataclass(frozen=True)
class SnapshotList:
    now: float  # the service's clock when it answered
    snapshots: tuple[Snapshot, ...]  # newest first

    def newest(self, status: str = "READY", prefix: str = "") -> Snapshot | None:
        return next(
            (s for s in self.snapshots if s.status == status and s.name.startswith(prefix)), None
        )

    def age_minutes(self, snapshot: Snapshot) -> float:
        return max(self.now - snapshot.created, 0.0) / 60


def _service_time(answer: Mapping[str, Any]) -> float:
    date = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    return parsedate_to_datetime(date).timestamp() if date else time.time()


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def snapshot_name(prefix: str, now: float) -> str:
    return prefix + datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")


class RecoveryPoint(Rule[Settings, SnapshotList]):
    summary = "The newest snapshot of a running application is younger than the target."
    severity = "MEDIUM"
    read_actions = ("kinesisanalytics:ListApplicationSnapshots",)
    write_actions = (
        "kinesisanalytics:CreateApplicationSnapshot",
        "kinesisanalytics:DeleteApplicationSnapshot",
    )
    trigger_events = APP_EVENTS | {
        "CreateApplicationSnapshot",
        "DeleteApplicationSnapshot",
        "StartApplication",
    }

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.snapshots(detail)  # the snapshot ages are in the finding

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        # Snapshots are taken only with a schedule and deleted only with a retention.
        take = any(s.schedule for s in places)
        actions = ["kinesisanalytics:CreateApplicationSnapshot"] if take else []
        if any(s.retain for s in places):
            actions.append("kinesisanalytics:DeleteApplicationSnapshot")
        return application_writes(actions, scope)

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> SnapshotList | None:
        if detail.get("ApplicationStatus") != "RUNNING":
            return None
        found: list[Snapshot] = []
        now, token = 0.0, None
        while True:
            more: dict[str, str] = {"NextToken": token} if token else {}
            page = read(FLINK, "ListApplicationSnapshots", ApplicationName=app.name, **more)
            now = now or _service_time(page)
            found += [
                Snapshot(
                    s["SnapshotName"], s["SnapshotStatus"], _epoch(s["SnapshotCreationTimestamp"])
                )
                for s in page.get("SnapshotSummaries", ())
            ]
            token = page.get("NextToken")
            if not token:
                break
        return SnapshotList(now, tuple(sorted(found, key=lambda s: s.created, reverse=True)))

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        facts = self.facts(observed)
        if facts is None:
            return ()
        drifts: list[Drift] = []
        why_not = _cannot_take(settings, observed, facts)
        newest = facts.newest()
        target = f"<= {settings.max_age_minutes} min"
        if newest is None or facts.age_minutes(newest) > settings.max_age_minutes:
            age = None if newest is None else round(facts.age_minutes(newest))
            found = (
                "no READY snapshot"
                if newest is None
                else f"newest READY snapshot {newest.name} is {age} min old"
            )
            message = f"{found} (recovery point target {settings.max_age_minutes} min)"
            message += f"; {why_not}" if why_not else "; a snapshot is taken"
            drifts.append(self.drift(observed, AGE, age, target, message, fixable=not why_not))
        elif settings.schedule is not None and not why_not:
            ours = facts.newest(prefix=settings.name_prefix)
            every = settings.schedule.every_minutes
            if ours is None or facts.age_minutes(ours) >= every:
                age = None if ours is None else round(facts.age_minutes(ours))
                message = f"scheduled snapshot due (every {every} min; the daemon's newest: "
                message += "none)" if ours is None else f"{ours.name}, {age} min old)"
                drifts.append(self.drift(observed, DUE, age, f"< {every} min", message))
        taking = any(d.fixable for d in drifts)
        for old in _beyond_retention(settings, facts, taking):
            message = f"snapshot {old.name} is beyond the daemon's retention ({settings.retain})"
            drifts.append(self.drift(observed, PRUNE + old.name, old.created, None, message))
        return tuple(drifts)

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        facts = self.facts(observed)
        if facts is None:
            return ()
        app, calls = observed.app, []
        if any(d.fixable and d.field in (AGE, DUE) for d in drifts):
            name = snapshot_name(settings.name_prefix, facts.now)
            params = {"ApplicationName": app.name, "SnapshotName": name}
            calls.append(Call(FLINK, "CreateApplicationSnapshot", params, app.arn))
        for d in drifts:
            if d.fixable and d.field.startswith(PRUNE):
                params = {
                    "ApplicationName": app.name,
                    "SnapshotName": d.field.removeprefix(PRUNE),
                    "SnapshotCreationTimestamp": d.current,
                }
                calls.append(Call(FLINK, "DeleteApplicationSnapshot", params, app.arn))
        return tuple(calls)


def _cannot_take(settings: Settings, observed: Observed, facts: SnapshotList) -> str:
    """Why the daemon does not take a snapshot now ("" when it does)."""
    if settings.schedule is None:
        return "no schedule: alert only"
    if section(observed.detail, SNAPSHOTS).get("SnapshotsEnabled") is not True:
        return "not taken: snapshots are disabled (rule snapshots)"
    pending = facts.newest("CREATING")
    if pending is not None:
        return f"snapshot {pending.name} is being created"
    return ""


def _beyond_retention(settings: Settings, facts: SnapshotList, taking: bool) -> list[Snapshot]:
    """The daemon's READY snapshots to delete: beyond the newest `count` (one fewer while a new
    one is being taken) or older than `days`; never the newest READY snapshot of any name."""
    retain = settings.retain
    if retain is None:
        return []
    ours = [s for s in facts.snapshots if s.name.startswith(settings.name_prefix)]
    keep = retain.count - 1 if taking else retain.count
    newest = facts.newest()
    return [
        s
        for i, s in enumerate(ours)
        if s.status == "READY"
        and s != newest
        and (i >= keep or (retain.days is not None and facts.now - s.created > retain.days * 86400))
    ]
