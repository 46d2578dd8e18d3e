"""`disruption:` settings: when a fix that restarts a RUNNING application may be made.

A change to a running Managed Flink application's configuration restarts the Flink job from a
snapshot. `running` says what to do with such a fix: `allow` (make it at once), `window` (only
inside one of `windows`, else defer it to the next opening), `approved` (only what an operator
approved with `flink-remediator approve`: exactly the approved calls, once, inside the approval's
window or else `windows`, if any; without an approval it stays `deferred (awaiting approval)`) or
`alert` (never: report only).
READY applications and fixes that restart nothing (tags, IAM, log groups) are always made.

`require_system_rollback` (default true): with `allow` or `window`, a restarting fix is made only
on an application with system rollback enabled. Without it, a restart that fails leaves the
application READY, its job stopped (AWS: "If this autorollback fails or you have not opted in
..., your application will be placed into the READY state",
https://docs.aws.amazon.com/managed-flink/latest/java/troubleshooting-system-rollback.html).
The one fix exempt is the one that only enables system rollback (the `system_rollback` rule's):
it is the way out of the requirement, and still waits for `allow`/`window`.

A window is one weekly range in a time zone: `"Sat 02:00-05:00 Europe/London"`; an end at or
before the start runs past midnight into the next day (`"Sun 23:00-01:00 UTC"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

Running = Literal["allow", "window", "approved", "alert"]
DEFAULT_RUNNING: Running = "alert"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Window:
    """A weekly range: starts on `day` (0 = Monday) at `start` minutes past midnight, lasts
    `minutes`, in `zone`."""

    text: str
    day: int
    start: int
    minutes: int
    zone: str

    @classmethod
    def parse(cls, text: str) -> Window:
        parts = text.split()
        if len(parts) != 3:
            raise ValueError(f"{text!r}: write a window as 'Sat 02:00-05:00 Europe/London'")
        day, hours, zone = parts
        if day.capitalize() not in DAYS:
            raise ValueError(f"{text!r}: day {day!r} is not one of {', '.join(DAYS)}")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"{text!r}: unknown time zone {zone!r} (e.g. Europe/London, UTC)"
            ) from err
        start, _, end = hours.partition("-")
        first, last = _minutes(text, start), _minutes(text, end)
        length = (last - first) % (24 * 60) or 24 * 60
        return cls(text, DAYS.index(day.capitalize()), first, length, zone)

    def _opening_near(self, now: datetime, weeks: int) -> datetime:
        local = now.astimezone(ZoneInfo(self.zone))
        monday = (local - timedelta(days=local.weekday())).date()
        day = monday + timedelta(days=self.day, weeks=weeks)
        naive = datetime(day.year, day.month, day.day) + timedelta(minutes=self.start)
        return naive.replace(tzinfo=ZoneInfo(self.zone))

    def open_at(self, now: datetime) -> bool:
        return any(
            o <= now < o + timedelta(minutes=self.minutes)
            for o in (self._opening_near(now, w) for w in (-1, 0))
        )

    def span_from(self, now: datetime) -> tuple[datetime, datetime]:
        """The opening that is open at `now`, else the next one: (start, end)."""
        openings = (self._opening_near(now, w) for w in (-1, 0, 1))
        length = timedelta(minutes=self.minutes)
        start = min(o for o in openings if o + length > now)
        return start, start + length

    def next_opening(self, now: datetime) -> datetime:
        """The first opening at or after `now` (`now` itself when it is open: the caller asks
        `open_at` first)."""
        return min(o for o in (self._opening_near(now, w) for w in (0, 1)) if o >= now)


def _minutes(text: str, clock: str) -> int:
    hours, _, minutes = clock.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{text!r}: {clock!r} is not a time like 02:00")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError(f"{text!r}: {clock!r} is not a time of day")
    return value


def _valid_window(text: str) -> str:
    Window.parse(text)
    return text


WindowText = Annotated[str, AfterValidator(_valid_window)]


class Disruption(BaseModel):
    """What to do with a fix that would restart a RUNNING application."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    running: Running = Field(
        default=DEFAULT_RUNNING,
        description="allow: fix at once; window: only inside `windows`; approved: only an "
        "approved plan (`flink-remediator approve`), in its window or `windows`; alert: never.",
    )
    windows: tuple[WindowText, ...] = Field(
        default=(),
        description="Weekly ranges with a time zone, e.g. 'Sat 02:00-05:00 Europe/London'.",
    )
    require_system_rollback: bool = Field(
        default=True,
        description="Make restarting fixes only on applications with system rollback enabled "
        "(a failed restart without it stops the job).",
    )

    @model_validator(mode="after")
    def _window_needs_windows(self) -> Disruption:
        if self.running == "window" and not self.windows:
            raise ValueError("running: window needs at least one entry in `windows`")
        return self

    def parsed_windows(self) -> tuple[Window, ...]:
        return tuple(Window.parse(w) for w in self.windows)

    def decide(self, now: datetime) -> datetime | Literal["alert", "approval"] | None:
        """For a restarting fix of a RUNNING app at `now`: None (make it now), the time the
        next window opens (defer it), "approval" (only an approved plan may make it) or
        "alert" (never make it)."""
        if self.running == "allow":
            return None
        if self.running == "alert":
            return "alert"
        if self.running == "approved":
            return "approval"
        return next_opening(self.parsed_windows(), now)


def next_opening(windows: tuple[Window, ...], now: datetime) -> datetime | None:
    """None when one of `windows` is open at `now` (or there are none), else the next opening."""
    if not windows or any(w.open_at(now) for w in windows):
        return None
    return min(w.next_opening(now) for w in windows)


DEFAULT_DISRUPTION = Disruption()
