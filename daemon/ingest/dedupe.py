"""Dedupe by CloudTrail eventID: a bounded, thread-safe TTL cache.

EventBridge and SQS deliver at least once, so the same CloudTrail record can arrive twice. Being
bounded, the cache may drop the oldest ids under a flood; a duplicate that slips through costs
one idempotent reconcile, never a wrong fix.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

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
        self._ids: TTLCache[str, bool] = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
        self._lock = threading.Lock()

    def seen_before(self, event_id: str) -> bool:
        """True if `event_id` was seen within the TTL; otherwise remember it and return False."""
        with self._lock:
            if event_id in self._ids:
                return True
            self._ids[event_id] = True
            return False

    def contains(self, event_id: str) -> bool:
        """Was `event_id` remembered within the TTL? (Does not remember it.)"""
        with self._lock:
            return event_id in self._ids

    def remember(self, event_id: str) -> None:
        with self._lock:
            self._ids[event_id] = True

    def forget(self, event_id: str) -> None:
        with self._lock:
            self._ids.pop(event_id, None)

    def __len__(self) -> int:
        with self._lock:
            self._ids.expire()
            return len(self._ids)
