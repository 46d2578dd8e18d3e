"""SIGINT/SIGTERM handling shared by the commands, as kubectl and terraform behave.

The handler only counts the signal: it takes no lock at all (a handler that logs, or even sets a
threading.Event, can deadlock: Python runs it in the main thread between two bytecodes, maybe
while that thread holds the very lock; structlog's write lock is not reentrant). The main thread
polls `requested()` and shuts down in order. A second signal while that runs forces the exit
at once, with one line written by `os.write` (no Python-level lock) and `os._exit`, which
closes every socket (the metrics port is free for the next start).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType

from daemon.commands import exits


class Interrupts:
    def __init__(self, forced_message: str, on_force: Callable[[], None] | None = None) -> None:
        self._signals = 0
        self.signal_name = ""
        self._forced_message = forced_message
        self._on_force = on_force

    def install(self, signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM)) -> None:
        for signum in signals:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals == 1:
            self.signal_name = signal.Signals(signum).name
            return
        self.force()

    def requested(self) -> bool:
        return self._signals > 0

    def wait(self) -> None:
        """Block until a signal comes. In short waits: the kernel may deliver the signal to any
        thread, and Python runs the handler only when the main thread next runs bytecode (an
        endless Event.wait() in the main thread would never see it)."""
        while not self.requested():
            time.sleep(0.2)

    def run_stop(self, stop: Callable[[], None]) -> None:
        """Run an orderly `stop` in a helper thread while the main thread stays responsive,
        so a second signal forces the exit even while `stop` is blocked."""
        stopper = threading.Thread(target=stop, name="shutdown")
        stopper.start()
        while stopper.is_alive():
            stopper.join(0.2)

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
