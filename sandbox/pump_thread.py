"""A background thread that calls `pump()` every POLL_SECONDS until stopped: how the sandbox
makes things happen on its clock without a request (event deliveries, schedules)."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("sandbox")
POLL_SECONDS = 0.05


class PumpThread:
    thread_name = "sandbox-pump"
    poll_seconds = POLL_SECONDS

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def pump(self) -> int:
        raise NotImplementedError

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.pump()
            except Exception:  # the next pump tries again
                log.exception("sandbox_pump_failed name=%s", self.thread_name)
