"""The injected clock for unit tests: time moves only when the test moves it."""

from __future__ import annotations


class FakeClock:
    """Callable like time.monotonic. Set or add to `now`; with `step`, every reading also
    advances it by `step` (so code that reads the clock twice sees a known duration)."""

    def __init__(self, now: float = 0.0, step: float = 0.0) -> None:
        self.now, self.step = now, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now
