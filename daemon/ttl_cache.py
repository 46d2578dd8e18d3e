"""The daemon's one TTL cache: a thread-safe map whose entries expire `ttl` seconds after they
were made, on an injected clock, holding at most `maxsize` (oldest dropped first).

Used for event ids already seen (as a set: keys only), the event router's remembered lookups
and the remembered tags of each application. One OrderedDict of key -> expiry (values, when
there are any, in a second dict: a set of 50,000 event ids costs ~115 bytes an entry besides
the id, half of cachetools' TTLCache). With one TTL and a clock that only moves forward,
insertion order is expiry order, so expiring and evicting both pop from the front; an entry
whose age counts from earlier (`put(..., since=)`) is also checked on its own when read.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar, cast

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        maxsize: int | None = None,
    ) -> None:
        if ttl < 0 or (maxsize is not None and maxsize < 1):
            raise ValueError(f"maxsize must be >= 1 and ttl >= 0, got {maxsize}, {ttl}")
        self._ttl, self._clock, self._maxsize = ttl, clock, maxsize
        self._expires: OrderedDict[K, float] = OrderedDict()
        self._values: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value of a live entry, else None."""
        with self._lock:
            return self._values.get(key) if self._alive(key) else None

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return self._alive(cast("K", key))

    def add(self, key: K) -> bool:
        """Remember `key` (as a set) unless it is live: True if it was new."""
        with self._lock:
            if self._alive(key):
                return False
            self._put(key, None, None)
            return True

    def put(self, key: K, value: V | None = None, *, since: float | None = None) -> None:
        """Remember `key` (with `value`, if any) from now, or from `since` (a clock reading:
        the entry's age counts from there). A known key moves to the back with its new expiry."""
        with self._lock:
            self._put(key, value, since)

    def pop(self, key: K) -> None:
        with self._lock:
            self._expires.pop(key, None)
            self._values.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._expires)

    def _alive(self, key: K) -> bool:
        now = self._clock()
        self._expire(now)
        expiry = self._expires.get(key)
        return expiry is not None and expiry > now

    def _put(self, key: K, value: V | None, since: float | None) -> None:
        now = self._clock()
        self._expire(now)
        self._expires[key] = (now if since is None else since) + self._ttl
        self._expires.move_to_end(key)
        if value is None:
            self._values.pop(key, None)
        else:
            self._values[key] = value
        while self._maxsize is not None and len(self._expires) > self._maxsize:
            oldest, _ = self._expires.popitem(last=False)
            self._values.pop(oldest, None)

    def _expire(self, now: float) -> None:
        expires = self._expires
        while expires:
            key, expiry = next(iter(expires.items()))
            if expiry > now:
                return
            del expires[key]
            self._values.pop(key, None)
