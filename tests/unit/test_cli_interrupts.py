"""The signal handling every command uses, on a real process: the first signal asks for an
orderly stop, a second one (or the watchdog) ends a stop that does not finish."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.commands import exits
from tests.harness import wait_until

# As in the daemon, other threads run; here the main thread blocks the signals, so the kernel
# must deliver them to the other thread, and the main thread still has to notice.
SCRIPT = """
import signal, sys, threading
from daemon.commands.interrupts import Interrupts
interrupts = Interrupts("forced exit: test")
interrupts.install()
threading.Thread(target=threading.Event().wait, daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
print("ready", flush=True)
interrupts.wait()
print("stopping", interrupts.signal_name, flush=True)
if sys.argv[1] == "watchdog":
    interrupts.watchdog(0.2)
interrupts.run_stop(threading.Event().wait)  # an orderly shutdown that never ends
"""


def start(mode: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    wait_until(lambda: main_thread_sleeps(process.pid), 30, "the main thread to block")
    return process


def main_thread_sleeps(pid: int) -> bool:
    """The main thread is blocked waiting (so only a signal that wakes it can be handled)."""
    stat = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "S"


@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM])
def test_second_signal_forces_the_exit_with_one_line(first: signal.Signals) -> None:
    process = start("wait")
    assert process.stdout is not None
    process.send_signal(first)
    assert process.stdout.readline() == f"stopping {first.name}\n"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == exits.INTERRUPTED
    assert err.strip() == "forced exit: test"


def test_watchdog_ends_a_stop_that_hangs() -> None:
    process = start("watchdog")
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert (process.returncode, err.strip()) == (exits.INTERRUPTED, "forced exit: test")
