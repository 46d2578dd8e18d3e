"""Fault rules: which requests a rule selects, when it fires, and what it does.

A rule is plain JSON (POST /_sandbox/faults takes a list of them):

    {"kind": "throttle", "service": "kinesisanalytics", "operation": "UpdateApplication",
     "every": 3, "count": 2}

Selection: `service` (SigV4 signing name), `operation` (one name or a list), `mutating`
(true: writes only); a missing selector matches anything. Schedule, counted over the requests
the rule selects: the first `skip` pass untouched; then each one fires when it is an `every`-th
one (default 1: each) and, with `probability`, when the rule's own random generator (seeded with
`seed`, default 0) says so; `count` caps how many times the rule fires in all. An `outage` has no
schedule: it fails everything it selects until `until` (ISO 8601 or epoch seconds) or for
`seconds` after it was installed, or until cleared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

KINDS = ("throttle", "unavailable", "lost_reply", "reset", "hang", "outage", "deny")
LOST_REPLY_MODES = ("reset", "error")
MAX_HANG_SECONDS = 300.0
_FIELDS = frozenset(
    {
        "kind",
        "service",
        "operation",
        "mutating",
        "skip",
        "every",
        "probability",
        "count",
        "seed",
        "seconds",
        "until",
        "reply",
    }
)


class FaultRuleError(ValueError):
    """A rule that cannot be installed; the message names the rule and the field."""


@dataclass(frozen=True)
class FaultRule:
    kind: str
    service: str | None = None
    operations: tuple[str, ...] = ()
    mutating: bool | None = None
    skip: int = 0
    every: int = 1
    probability: float | None = None
    count: int | None = None
    seed: int = 0
    seconds: float | None = None  # hang: how long; outage: how long after installation
    until: float | None = None  # outage: end, epoch seconds on the sandbox's clock
    reply: str = "reset"  # lost_reply: "reset" (connection dropped) or "error" (HTTP 500)

    def selects(self, service: str, operation: str, mutating: bool) -> bool:
        if self.service is not None and self.service != service:
            return False
        if self.operations and operation not in self.operations:
            return False
        return self.mutating is None or self.mutating == mutating

    def as_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"kind": self.kind}
        defaults = FaultRule(kind=self.kind)
        for name in ("service", "mutating", "skip", "every", "probability", "count", "seed"):
            if getattr(self, name) != getattr(defaults, name):
                value[name] = getattr(self, name)
        if self.operations:
            value["operation"] = list(self.operations)
        if self.kind in ("hang", "outage") and self.seconds is not None:
            value["seconds"] = self.seconds
        if self.kind == "outage" and self.until is not None:
            value["until"] = self.until
        if self.kind == "lost_reply":
            value["reply"] = self.reply
        return value


def parse_rules(value: Any, now: float) -> tuple[FaultRule, ...]:
    """Rules from JSON (a list, or one rule object); `now` anchors an outage's `seconds`."""
    items = value if isinstance(value, list) else [value]
    return tuple(_parse_rule(item, index, now) for index, item in enumerate(items))


def _parse_rule(item: Any, index: int, now: float) -> FaultRule:
    where = f"fault rule {index}"
    if not isinstance(item, Mapping):
        raise FaultRuleError(f"{where}: must be a JSON object, got {type(item).__name__}")
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        raise FaultRuleError(f"{where}: unknown field {unknown[0]!r}")
    kind = item.get("kind")
    if kind not in KINDS:
        raise FaultRuleError(f"{where}: field 'kind': must be one of {', '.join(KINDS)}")
    operation = item.get("operation")
    operations = (operation,) if isinstance(operation, str) else operation or ()
    if not all(isinstance(name, str) and name for name in operations):
        raise FaultRuleError(f"{where}: field 'operation': a name or a list of names")
    service = item.get("service")
    if service is not None and not (isinstance(service, str) and service):
        raise FaultRuleError(f"{where}: field 'service': a SigV4 service name, e.g. 'iam'")
    mutating = item.get("mutating")
    if mutating is not None and not isinstance(mutating, bool):
        raise FaultRuleError(f"{where}: field 'mutating': true or false")
    probability = _number(item, "probability", where, low=0.0, high=1.0)
    seconds = _number(item, "seconds", where, low=0.0, high=None)
    if kind == "hang":
        seconds = min(seconds if seconds is not None else 5.0, MAX_HANG_SECONDS)
    until = _until(item.get("until"), where)
    if kind == "outage" and seconds is not None:
        until = now + seconds if until is None else min(until, now + seconds)
    reply = item.get("reply", "reset")
    if reply not in LOST_REPLY_MODES:
        raise FaultRuleError(f"{where}: field 'reply': must be 'reset' or 'error'")
    every = _integer(item, "every", where, low=1)
    count = _integer(item, "count", where, low=0)
    return FaultRule(
        kind=kind,
        service=service,
        operations=tuple(operations),
        mutating=mutating,
        skip=_integer(item, "skip", where, low=0) or 0,
        every=every or 1,
        probability=probability,
        count=count,
        seed=_integer(item, "seed", where, low=None) or 0,
        seconds=seconds,
        until=until,
        reply=reply,
    )


def _integer(item: Mapping[str, Any], name: str, where: str, low: int | None) -> int | None:
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        bound = f" >= {low}" if low is not None else ""
        raise FaultRuleError(f"{where}: field {name!r}: an integer{bound}, got {value!r}")
    return value


def _number(
    item: Mapping[str, Any], name: str, where: str, low: float, high: float | None
) -> float | None:
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultRuleError(f"{where}: field {name!r}: a number, got {value!r}")
    if value < low or (high is not None and value > high):
        limits = f"between {low} and {high}" if high is not None else f">= {low}"
        raise FaultRuleError(f"{where}: field {name!r}: must be {limits}, got {value!r}")
    return float(value)


def _until(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment.timestamp()
    raise FaultRuleError(
        f"{where}: field 'until': ISO 8601 with a time zone or epoch seconds, got {value!r}"
    )
