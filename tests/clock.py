"""The injected clock for unit tests: time moves only when the test moves it; a schedule that
records its jobs instead of running them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from daemon.tasks import Schedule


class FakeClock:
    """Callable like time.monotonic. Set or add to `now`; with `step`, every reading also
    advances it by `step` (so code that reads the clock twice sees a known duration)."""

    def __init__(self, now: float = 0.0, step: float = 0.0) -> None:
        self.now, self.step = now, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class FakeWall(FakeClock):
    """A FakeClock read as wall-clock time (the safeguards' clock): `start` plus `now`
    seconds. Set or add to `now` in seconds, as with FakeClock."""

    def __init__(
        self, now: float = 0.0, start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    ) -> None:
        super().__init__(now)
        self.start = start

    def __call__(self) -> datetime:  # type: ignore[override]
        return self.start + timedelta(seconds=super().__call__())


class RecordedSchedule(Schedule):
    """A Schedule that runs nothing: it records each job, its period and whether it runs now."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, tuple[Callable[[], object], float, bool]] = {}

    def every(
        self,
        name: str,
        job: Callable[[], object],
        seconds: float,
        *,
        jitter: float = 0,
        now: bool = False,
    ) -> None:
        self.jobs[name] = (job, seconds, now)
