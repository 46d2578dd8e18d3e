"""SIGINT/SIGTERM handling shared by the commands, as kubectl and terraform behave.

The handler only records the signal (a handler that logs can deadlock: structlog's write lock is
not reentrant, and the signal may arrive while the same thread holds it). The main thread sees
`requested` and shuts down in order. A second signal while that runs forces the exit at once,
with one line written by `os.write` (no Python-level lock) and `os._exit`, which closes every
socket (the metrics port is free for the next start).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType

from daemon.commands import exits


class Interrupts:
    def __init__(self, forced_message: str, on_force: Callable[[], None] | None = None) -> None:
        self.requested = threading.Event()
        self.signal_name = ""
        self._forced_message = forced_message
        self._on_force = on_force

    def install(self, signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM)) -> None:
        for signum in signals:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.requested.is_set():
            self.signal_name = signal.Signals(signum).name
            self.requested.set()
            return
        self.force()

    def force(self) -> None:
        """Exit now: one line on stderr, children killed (on_force), status 130."""
        if self._on_force is not None:
            self._on_force()
        os.write(2, f"\n{self._forced_message}\n".encode())
        os._exit(exits.INTERRUPTED)

    def watchdog(self, seconds: float) -> None:
        """Force the exit if the orderly shutdown has not finished within `seconds`."""
        timer = threading.Timer(seconds, self.force)
        timer.daemon = True
        timer.start()
