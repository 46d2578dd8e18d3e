"""Waiting on a daemon (its own process) by its metrics, for the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.harness import DaemonProcess


def gauge(daemon: DaemonProcess, name: str) -> float:
    """A metric of the daemon, 0 while its metrics server is not up yet."""
    try:
        return daemon.metric(name)
    except OSError:
        return 0.0


def settle(count: Callable[[], float], target: int, stall: float = 10.0) -> None:
    """Until `count()` reaches `target` or has not moved for `stall` seconds."""
    last, since = -1.0, time.monotonic()
    while time.monotonic() - since < stall:
        now = count()
        if now >= target:
            return
        if now != last:
            last, since = now, time.monotonic()
        time.sleep(0.5)


def quiet(daemon: DaemonProcess, seconds: float, timeout: float) -> None:
    """Until the reconcile count has not moved for `seconds`."""
    deadline, last, since = time.monotonic() + timeout, -1.0, time.monotonic()
    while time.monotonic() < deadline:
        now = daemon.metric("flink_remediator_reconciles_total")
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return
        time.sleep(0.2)
