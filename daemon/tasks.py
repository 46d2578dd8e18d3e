"""The daemon's background tasks by name, started in order and stopped in reverse in one place,
and its periodic jobs.

A task that failed to start, or a start() that raised half-way, leaves only the tasks that did
start to be stopped; stopping one task never keeps the others from stopping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Task:
    name: str
    start: Callable[[], object]
    stop: Callable[[], object]


class Tasks:
    def __init__(self) -> None:
        self._planned: list[Task] = []
        self._running: list[Task] = []
        self._lock = threading.Lock()

    def add(self, name: str, start: Callable[[], object], stop: Callable[[], object]) -> None:
        """Plan a task; start() starts planned tasks in the order they were added."""
        with self._lock:
            if any(task.name == name for task in self._planned + self._running):
                raise ValueError(f"a task named {name!r} is already registered")
            self._planned.append(Task(name, start, stop))

    def start(self) -> None:
        """Start every planned task in order (again later for tasks added since)."""
        while True:
            with self._lock:
                if not self._planned:
                    return
                task = self._planned.pop(0)
            task.start()
            with self._lock:
                self._running.append(task)
            log.info("task_started", task=task.name)

    def names(self) -> tuple[str, ...]:
        """The running tasks, in start order."""
        with self._lock:
            return tuple(task.name for task in self._running)

    def stop(self) -> tuple[str, ...]:
        """Stop running tasks in reverse start order; returns the names stopped. Idempotent."""
        with self._lock:
            running, self._running, self._planned = self._running, [], []
        stopped = []
        for task in reversed(running):
            try:
                task.stop()
            except Exception:
                log.exception("task_stop_failed", task=task.name)
                continue
            stopped.append(task.name)
            log.info("task_stopped", task=task.name)
        return tuple(stopped)


class Schedule:
    """Periodic jobs on one APScheduler background scheduler: at most one run of a job at a
    time, and missed runs coalesce into one (a slow sweep never queues up sweeps)."""

    def __init__(self) -> None:
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def every(
        self,
        name: str,
        job: Callable[[], object],
        seconds: float,
        *,
        jitter: float = 0,
        now: bool = False,
    ) -> None:
        """Run `job` every `seconds` (plus up to `jitter`), first at once when `now`."""
        self._scheduler.add_job(
            job,
            "interval",
            id=name,
            seconds=seconds,
            jitter=jitter or None,
            max_instances=1,
            coalesce=True,
            **({"next_run_time": datetime.now(UTC)} if now else {}),
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.shutdown(wait=False)  # a running job finishes on its own thread
