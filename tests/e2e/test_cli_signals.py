"""Ctrl-C as a new user meets it (issue 17): `run` and `demo` (what `make run` starts) stop
within a bounded time without a traceback, free their ports, and start again on the same ports."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.commands import exits
from tests.e2e.configs import write_config
from tests.harness import CLI, DaemonProcess, SandboxProcess, free_port, wait_until

pytestmark = pytest.mark.e2e


def port_is_free(port: int) -> bool:
    """Free for a server, which (like the daemon's and the sandbox's) sets SO_REUSEADDR, so
    connections of the last run left in TIME_WAIT do not count."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    running = SandboxProcess()
    yield running
    running.stop()


def test_run_twice_ctrl_c_exits_frees_the_port_and_starts_again(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "desired.yaml")
    first = DaemonProcess(sandbox, config, tmp_path / "first.log")
    first.wait_for("daemon_started", timeout=120)
    first.process.send_signal(signal.SIGINT)
    first.process.send_signal(signal.SIGINT)
    assert first.stop(timeout=60) in (exits.OK, exits.INTERRUPTED)
    assert "Traceback" not in first.log.read_text()
    assert port_is_free(first.port)

    again = DaemonProcess(
        sandbox, config, tmp_path / "again.log", "--metrics-port", str(first.port)
    )
    again.wait_for("sweep_finished", timeout=120)
    again.process.send_signal(signal.SIGINT)
    assert again.process.wait(timeout=60) == exits.OK
    summary = again.events("daemon_summary")
    assert summary and summary[0]["reconciles"] >= 1
    assert "Traceback" not in again.log.read_text()


def test_busy_metrics_port_is_one_line_and_a_documented_code(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        daemon = DaemonProcess(
            sandbox,
            write_config(tmp_path / "c.yaml"),
            tmp_path / "d.log",
            "--metrics-port",
            str(port),
        )
        code = daemon.process.wait(timeout=60)
    lines = daemon.log.read_text().strip().splitlines()
    assert code == exits.UNAVAILABLE
    assert lines == [
        f"error: --metrics-port {port}: cannot listen on 127.0.0.1:{port}: Address already in "
        "use (is another flink-remediator running?)"
    ]


def start_demo(port: int, metrics_port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                *CLI,
                "demo",
                "--port",
                str(port),
                "--metrics-port",
                str(metrics_port),
                "--every",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_demo_twice_ctrl_c_then_again(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    log = tmp_path / "demo.log"
    demo = start_demo(port, metrics_port, log)
    wait_until(lambda: "daemon_started" in log.read_text(), 120, "the demo's daemon")
    demo.send_signal(signal.SIGINT)
    time.sleep(0.2)  # as a person presses Ctrl-C twice; either order of events must be fine
    demo.send_signal(signal.SIGINT)
    assert demo.wait(timeout=60) in (exits.OK, exits.INTERRUPTED)
    assert "Traceback" not in log.read_text()
    wait_until(lambda: port_is_free(port) and port_is_free(metrics_port), 10, "ports freed")

    log.write_text("")
    again = start_demo(port, metrics_port, log)
    wait_until(lambda: "daemon_started" in log.read_text(), 120, "the demo again")
    again.send_signal(signal.SIGINT)
    assert again.wait(timeout=90) == exits.OK
    text = log.read_text()
    assert "daemon_summary" in text and "Traceback" not in text
