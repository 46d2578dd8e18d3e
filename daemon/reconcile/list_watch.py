"""List and watch: which applications a sweep must describe (and reconcile), informer-style.

A sweep lists each account and Region (ListApplications pages carry every app's
ApplicationVersionId and status) and reads its side resources in pages
(daemon/reconcile/side_reads.py). AWS changes the version id on every update of an application
(https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_ApplicationVersionSummary.html), so
an application whose version and status are those of its last full read has the same
configuration; only its tags and side resources can have moved, and their fingerprints say
whether they did. An application is described when it is new, its version or status changed,
or a fingerprint of what it links to (its tags, its execution role, its log group, its VPCs'
route tables) changed. Every application is described on a full resync: the first sweep, and
then every `resync_seconds` (for what neither the version nor a batched read shows: see
docs/performance.md).

A rule whose verdict changes with time alone (recovery_point: the newest snapshot ages) is not
seen by any of this: while one is enabled, every RUNNING application (the only ones it judges)
is due at every sweep.

Events do not pass through here: they always reconcile with a fresh DescribeApplication.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from daemon.aws import Aws
from daemon.desired.config import DesiredConfig
from daemon.reconcile import side_reads
from daemon.reconcile.side_reads import Sides
from daemon.state import AppRef

DEFAULT_RESYNC_SECONDS = 86400.0
TIME_DRIVEN_RULES = ("recovery_point",)


@dataclass(frozen=True, slots=True)
class Listed:
    """One ListApplications summary."""

    app: AppRef
    version: int
    status: str


@dataclass(frozen=True, slots=True)
class Links:
    """The side resources an application's last DescribeApplication named."""

    role: str = ""
    log_group: str = ""
    vpcs: tuple[str, ...] = ()

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> Links:
        role = str(detail.get("ServiceExecutionRole", "")).rsplit("/", 1)[-1]
        streams = [
            str(o.get("LogStreamARN", ""))
            for o in detail.get("CloudWatchLoggingOptionDescriptions") or []
        ]
        # arn:aws:logs:R:A:log-group:NAME:log-stream:S -> NAME
        groups = [
            s.split(":log-group:", 1)[1].split(":log-stream:", 1)[0]
            for s in streams
            if ":log-group:" in s
        ]
        config = detail.get("ApplicationConfigurationDescription") or {}
        vpcs = sorted(
            {
                str(v["VpcId"])
                for v in config.get("VpcConfigurationDescriptions") or []
                if v.get("VpcId")
            }
        )
        return cls(role=role, log_group=groups[0] if groups else "", vpcs=tuple(vpcs))


@dataclass(frozen=True, slots=True)
class Seen:
    """What the last full read of an application saw."""

    version: int
    status: str
    links: Links
    sides: str  # fingerprint of its side resources when it was read


def side_print(app: AppRef, links: Links, sides: Sides) -> str:
    return side_reads.fingerprint(
        [
            sides.tags.get(app.arn, ""),
            sides.roles.get(links.role, "") if links.role else "",
            links.log_group in sides.log_groups if links.log_group else None,
            [sides.routes.get(vpc, "") for vpc in links.vpcs],
        ]
    )


def time_driven(config: DesiredConfig) -> bool:
    """True when a rule whose verdict changes with time alone is enabled anywhere."""
    for rule in TIME_DRIVEN_RULES:
        settings = config.rules.get(rule)
        if (settings is not None and getattr(settings, "enabled", True)) or any(
            rule in o.rules for o in config.overrides
        ):
            return True
    return False


def list_region(aws: Aws, account: str) -> tuple[Listed, ...]:
    """Every application in the client's Region, with its version and status."""
    found: list[Listed] = []
    params: dict[str, Any] = {}
    while True:
        page = aws.call("kinesisanalyticsv2", "ListApplications", **params)
        found += [
            Listed(
                AppRef(account, aws.region, str(s["ApplicationName"])),
                int(s["ApplicationVersionId"]),
                str(s["ApplicationStatus"]),
            )
            for s in page.get("ApplicationSummaries", [])
        ]
        if not page.get("NextToken"):
            return tuple(sorted(found, key=lambda listed: listed.app))
        params["NextToken"] = page["NextToken"]


class Watch:
    """What each application's last full read saw, and when the last full resync began."""

    def __init__(
        self,
        resync_seconds: float = DEFAULT_RESYNC_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resync, self._clock = resync_seconds, clock
        self._seen: dict[AppRef, Seen] = {}
        self._last_resync: float | None = None
        self._lock = threading.Lock()

    def begin_sweep(self) -> bool:
        """True when this sweep is a full resync (the first one, then once per period)."""
        now = self._clock()
        with self._lock:
            if self._last_resync is None or now - self._last_resync >= self._resync:
                self._last_resync = now
                return True
            return False

    def links(self, apps: Iterable[AppRef]) -> tuple[Links, ...]:
        with self._lock:
            return tuple(self._seen[a].links for a in apps if a in self._seen)

    def due(
        self, listed: Iterable[Listed], sides: Sides, full: bool, running_too: bool = False
    ) -> tuple[Listed, ...]:
        """The listed applications to describe: all on a full resync, else the new, the
        changed (version or status), those whose side resources changed and, with
        `running_too` (a time-driven rule is enabled), every RUNNING one."""
        with self._lock:
            seen = dict(self._seen)
        out = []
        for entry in listed:
            last = seen.get(entry.app)
            if (
                full
                or (running_too and entry.status == "RUNNING")
                or last is None
                or (last.version, last.status) != (entry.version, entry.status)
                or side_print(entry.app, last.links, sides) != last.sides
            ):
                out.append(entry)
        return tuple(out)

    def saw(self, entry: Listed, links: Links, sides: Sides) -> None:
        """Record a full read: the listing's version and status (not the describe's: a change
        between the two shows as a changed version at the next sweep, never as none)."""
        seen = Seen(entry.version, entry.status, links, side_print(entry.app, links, sides))
        with self._lock:
            self._seen[entry.app] = seen

    def retain(self, account: str, region: str, present: Iterable[AppRef]) -> None:
        keep = set(present)
        with self._lock:
            for app in [a for a in self._seen if (a.account, a.region) == (account, region)]:
                if app not in keep:
                    del self._seen[app]

    def forget(self, app: AppRef) -> None:
        """Make the next sweep describe `app` (a reconcile that could not finish)."""
        with self._lock:
            self._seen.pop(app, None)
