"""Dedupe by CloudTrail eventID: the daemon's bounded, thread-safe TTL cache (`TtlCache`) used
as a set of ids.

EventBridge and SQS deliver at least once, so the same CloudTrail record can arrive twice. Being
bounded, the cache may drop the oldest ids under a flood; a duplicate that slips through costs
one idempotent reconcile, never a wrong fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from daemon.ttl_cache import TtlCache

DEFAULT_MAXSIZE = 50_000
DEFAULT_TTL_SECONDS = 3600.0


class EventIdCache:
    """Remembers eventIDs for `ttl` seconds (at most `maxsize` of them, oldest dropped first)."""

    def __init__(
        self,
        maxsize: int = DEFAULT_MAXSIZE,
        ttl: float = DEFAULT_TTL_SECONDS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if maxsize < 1 or ttl <= 0:
            raise ValueError(f"maxsize must be >= 1 and ttl > 0, got {maxsize}, {ttl}")
        self._ids: TtlCache[str, None] = TtlCache(ttl, timer, maxsize)

    def seen_before(self, event_id: str) -> bool:
        """True if `event_id` was seen within the TTL; otherwise remember it and return False."""
        return not self._ids.add(event_id)

    def contains(self, event_id: str) -> bool:
        """Was `event_id` remembered within the TTL? (Does not remember it.)"""
        return event_id in self._ids

    def remember(self, event_id: str) -> None:
        """Remember `event_id` from now (a known id moves to the back with its new expiry)."""
        self._ids.put(event_id)

    def forget(self, event_id: str) -> None:
        self._ids.pop(event_id)

    def __len__(self) -> int:
        return len(self._ids)
