"""The sandbox's time: wall-clock time plus an offset that tests advance (POST /_sandbox/clock).

Transitional statuses end at a point of this clock, so a test makes a 10-minute update finish
by advancing the clock 600 s instead of waiting. Time never runs backwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SandboxClock:
    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._source() + self._offset

    @property
    def offset(self) -> float:
        with self._lock:
            return self._offset

    def advance(self, seconds: float) -> float:
        """Move time forward by `seconds` (>= 0); returns the new now()."""
        if not seconds >= 0:
            raise ValueError(f"advance must be a number of seconds >= 0, got {seconds!r}")
        with self._lock:
            self._offset += seconds
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
