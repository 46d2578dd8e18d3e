"""The pure format of sweep messages on the daemon's queue: one body in, a `Tick`, a `SweepWork`
or None (not a sweep message: an event) out, or a `SweepMessageError` naming what is wrong.

With `--sweep-source queue` a sweep is a message, not a timer in each pod:

    EventBridge Scheduler (one schedule per account and Region)
        -> {"flink_remediator": "sweep_tick", "version": 1, "account": A, "region": R}
    the replica that receives it lists A/R and sends, ten apps a message,
        -> {"flink_remediator": "sweep_work", "version": 1, "account": A, "region": R,
            "apps": [names], "sweep": tick id}
    and every replica takes a share of those (SQS does distribution, retries and the DLQ).

A body is a sweep message when it is a JSON object with the `flink_remediator` key; any other
body goes on to the event parser. A sweep message that does not validate is an error (counted,
logged and dropped by the caller): junk never reaches logs or look-ups unchecked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from daemon.errors import EventError

VERSION = 1
KIND_KEY = "flink_remediator"
TICK, WORK = "sweep_tick", "sweep_work"
APPS_PER_MESSAGE = 10  # a SendMessageBatch of 10 such messages carries 100 apps
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_APP_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")  # as the API's ApplicationName pattern
_SWEEP_ID = re.compile(r"[\w:.-]{1,128}")


class SweepMessageError(EventError):
    """A sweep message that does not validate (reason `malformed_sweep_message`)."""

    def __init__(self, message: str) -> None:
        super().__init__("malformed_sweep_message", message)


@dataclass(frozen=True)
class Tick:
    """Sweep one account and Region now."""

    account: str
    region: str


@dataclass(frozen=True)
class SweepWork:
    """Reconcile these applications of one account and Region, for the sweep `sweep`."""

    account: str
    region: str
    apps: tuple[str, ...]
    sweep: str = ""


def tick_body(account: str, region: str) -> str:
    """What a schedule's target Input carries (the templates and the sandbox use it)."""
    return json.dumps({KIND_KEY: TICK, "version": VERSION, "account": account, "region": region})


def work_bodies(work: SweepWork) -> Iterator[str]:
    """The fan-out of `work`: one body per APPS_PER_MESSAGE applications."""
    for start in range(0, len(work.apps), APPS_PER_MESSAGE):
        body = {
            KIND_KEY: WORK,
            "version": VERSION,
            "account": work.account,
            "region": work.region,
            "apps": list(work.apps[start : start + APPS_PER_MESSAGE]),
            "sweep": work.sweep,
        }
        yield json.dumps(body, separators=(",", ":"))


def parse(body: str | bytes) -> Tick | SweepWork | None:
    """The sweep message in `body`; None when `body` is not one (not JSON, not an object, or
    without the `flink_remediator` key); SweepMessageError when it is one but invalid."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError, TypeError):
        return None
    if not isinstance(data, dict) or KIND_KEY not in data:
        return None
    kind, version = data.get(KIND_KEY), data.get("version")
    if kind not in (TICK, WORK):
        raise SweepMessageError(f"unknown sweep message kind {str(kind)[:40]!r}")
    if version != VERSION:
        raise SweepMessageError(
            f"{kind} version {str(version)[:20]!r}, this daemon reads {VERSION}"
        )
    account = _field(data, "account", _ACCOUNT)
    region = _field(data, "region", _REGION)
    if kind == TICK:
        return Tick(account, region)
    apps = data.get("apps")
    if not isinstance(apps, list) or not 0 < len(apps) <= APPS_PER_MESSAGE:
        raise SweepMessageError(f"sweep_work needs 1..{APPS_PER_MESSAGE} apps")
    names = tuple(_name(app) for app in apps)
    sweep = data.get("sweep", "")
    if not isinstance(sweep, str) or (sweep and not _SWEEP_ID.fullmatch(sweep)):
        raise SweepMessageError("sweep_work has an invalid sweep id")
    return SweepWork(account, region, names, sweep)


def _field(data: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise SweepMessageError(f"{data.get(KIND_KEY)} has no valid {key}")
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not _APP_NAME.fullmatch(value):
        raise SweepMessageError("sweep_work names an invalid application")
    return value
