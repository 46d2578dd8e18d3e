"""Dedupe by CloudTrail eventID: a bounded, thread-safe TTL cache.

EventBridge and SQS deliver at least once, so the same CloudTrail record can arrive twice. Being
bounded, the cache may drop the oldest ids under a flood; a duplicate that slips through costs
one idempotent reconcile, never a wrong fix.

One OrderedDict of id -> expiry (~115 bytes an entry besides the id, half of cachetools'
TTLCache): with one TTL and a monotonic timer, insertion order is expiry order, so expiring and
evicting both pop from the front.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

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
        self._maxsize, self._ttl, self._timer = maxsize, ttl, timer
        self._expires: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def seen_before(self, event_id: str) -> bool:
        """True if `event_id` was seen within the TTL; otherwise remember it and return False."""
        with self._lock:
            if self._alive(event_id):
                return True
            self._put(event_id)
            return False

    def contains(self, event_id: str) -> bool:
        """Was `event_id` remembered within the TTL? (Does not remember it.)"""
        with self._lock:
            return self._alive(event_id)

    def remember(self, event_id: str) -> None:
        with self._lock:
            self._put(event_id)

    def forget(self, event_id: str) -> None:
        with self._lock:
            self._expires.pop(event_id, None)

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._timer())
            return len(self._expires)

    def _alive(self, event_id: str) -> bool:
        self._expire(self._timer())
        return event_id in self._expires

    def _put(self, event_id: str) -> None:
        """Remember `event_id` from now (a known id moves to the back with its new expiry)."""
        now = self._timer()
        self._expire(now)
        self._expires[event_id] = now + self._ttl
        self._expires.move_to_end(event_id)
        while len(self._expires) > self._maxsize:
            self._expires.popitem(last=False)

    def _expire(self, now: float) -> None:
        expires = self._expires
        while expires and next(iter(expires.values())) <= now:
            expires.popitem(last=False)
