"""When CloudTrail events reach EventBridge's targets: late, sometimes twice, not in order.

AWS services deliver events to CloudTrail on a best-effort basis, and CloudTrail passes them to
EventBridge (https://docs.aws.amazon.com/eventbridge/latest/userguide/event-types.html,
https://docs.aws.amazon.com/eventbridge/latest/ref/event-delivery-level.html), typically within
minutes of the call (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/how-cloudtrail-works.html);
EventBridge may trigger a rule more than once for one event and promises no order
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-troubleshooting.html). So:

- `delay_seconds`: each event is delivered that long after the call, on the sandbox clock (a test
  advances `/_sandbox/clock` instead of waiting; wall time moves it too);
- `jitter_seconds`: plus a random 0..jitter each, so events overtake each other;
- `duplicate_probability`: the chance an event is delivered a second time (same envelope, same
  CloudTrail eventID), `duplicate_delay_seconds` plus up to `jitter_seconds` after the first;
- `seed`: the generator's seed, so a run is repeatable.

All zero (the default): delivered at once, inside the API call, exactly once, in order.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from sandbox.pump_thread import PumpThread

log = logging.getLogger("sandbox")
Send = Callable[[dict[str, Any], str, str], int]


@dataclass(frozen=True)
class DeliverySettings:
    delay_seconds: float = 0.0
    jitter_seconds: float = 0.0
    duplicate_probability: float = 0.0
    duplicate_delay_seconds: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("delay_seconds", "jitter_seconds", "duplicate_delay_seconds"):
            if not 0 <= getattr(self, name) <= 86400:
                raise ValueError(f"{name} must be 0..86400, got {getattr(self, name)!r}")
        if not 0 <= self.duplicate_probability <= 1:
            raise ValueError(
                f"duplicate_probability must be 0..1, got {self.duplicate_probability!r}"
            )

    @property
    def immediate(self) -> bool:
        return not (self.delay_seconds or self.jitter_seconds or self.duplicate_probability)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def settings_from(current: DeliverySettings, changes: dict[str, Any]) -> DeliverySettings:
    """`current` with the keys of `changes` (JSON numbers); ValueError names a bad one."""
    known = set(DeliverySettings.__dataclass_fields__)
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(f"unknown delivery setting {unknown[0]!r} (known: {sorted(known)})")
    try:
        values: dict[str, Any] = {
            k: int(v) if k == "seed" else float(v) for k, v in changes.items()
        }
    except (TypeError, ValueError):
        raise ValueError(f"delivery settings must be numbers, got {changes!r}") from None
    return replace(current, **values)


class Deliveries(PumpThread):
    """Pending events, due on `clock`; `send(event, account, region)` routes one."""

    thread_name = "sandbox-delivery"

    def __init__(self, clock: Callable[[], float], send: Send) -> None:
        super().__init__()
        self._clock = clock
        self._send = send
        self._settings = DeliverySettings()
        self._random = random.Random(0)
        self._pending: list[tuple[float, int, dict[str, Any], str, str]] = []  # a heap
        self._order = itertools.count()
        self._lock = threading.Lock()

    @property
    def settings(self) -> DeliverySettings:
        return self._settings

    def configure(self, settings: DeliverySettings) -> None:
        with self._lock:
            self._settings = settings
            self._random = random.Random(settings.seed)

    def submit(self, event: dict[str, Any], account: str, region: str) -> int:
        """Deliver now (returns deliveries) or schedule (returns 0)."""
        with self._lock:
            settings = self._settings
            if settings.immediate:
                copies: list[float] = []
            else:
                now = self._clock()
                copies = [now + settings.delay_seconds + self._jitter()]
                if self._random.random() < settings.duplicate_probability:
                    copies.append(copies[0] + settings.duplicate_delay_seconds + self._jitter())
                for due in copies:
                    heapq.heappush(self._pending, (due, next(self._order), event, account, region))
        return self._send(event, account, region) if not copies else 0

    def _jitter(self) -> float:
        return self._random.uniform(0, self._settings.jitter_seconds)

    def pending(self) -> list[dict[str, Any]]:
        """The events not delivered yet, soonest first: seconds until due, eventID, eventName."""
        with self._lock:
            now, queued = self._clock(), sorted(self._pending)
        return [
            {
                "due_in_seconds": round(max(due - now, 0.0), 3),
                "event_id": event.get("detail", {}).get("eventID"),
                "event_name": event.get("detail", {}).get("eventName"),
            }
            for due, _, event, _, _ in queued
        ]

    def pump(self) -> int:
        """Send every event due by now; the number sent."""
        sent = 0
        while True:
            with self._lock:
                if not self._pending or self._pending[0][0] > self._clock():
                    return sent
                _, _, event, account, region = heapq.heappop(self._pending)
            try:
                self._send(event, account, region)
            except Exception:  # one bad delivery must not stop the others
                log.exception("sandbox_event_delivery_failed")
            sent += 1

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            self._settings = DeliverySettings()
            self._random = random.Random(0)
