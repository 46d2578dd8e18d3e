"""`make run` as a newcomer's shell meets it (issue 23): whatever Region the shell exports the
demo fixes drift that events report; one Ctrl-C is a clean stop (exit 0, also while starting,
and `make` prints no error); a daemon in a Region its config does not cover says so."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

from daemon.commands import exits
from tests.e2e.configs import write_config
from tests.harness import CLI, DaemonProcess, SandboxProcess, free_port, metric, wait_until

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
SHELL = {
    "AWS_REGION": "ap-southeast-2",
    "AWS_DEFAULT_REGION": "ap-southeast-2",
    "AWS_PROFILE": "nonexistent-profile",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
}


def start_demo(log: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [*CLI, "demo", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )


def children_of(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def event_reconciles(port: int) -> float:
    """Reconciles caused by events; 0 while the daemon is still starting (its imports can take
    longer than the actor's first step on a loaded machine: the port is not open yet)."""
    try:
        return metric(port, "flink_remediator_reconciles_total", trigger="event")
    except urllib.error.URLError:
        return 0.0


def test_demo_fixes_event_reported_drift_whatever_region_the_shell_names(tmp_path: Path) -> None:
    log, metrics_port = tmp_path / "demo.log", free_port()
    flags = ("--port", str(free_port()), "--metrics-port", str(metrics_port), "--every", "1")
    demo = start_demo(log, *flags, env={**os.environ, **SHELL})
    try:
        wait_until(lambda: "actor alice" in log.read_text(), 120, "the actor's first change")
        wait_until(
            lambda: event_reconciles(metrics_port), 60, "a reconcile caused by the actor's event"
        )
        ignored = metric(
            metrics_port, "flink_remediator_events_ignored_total", reason="region_not_configured"
        )
        assert ignored == 0
        assert "(eu-west-1)" in log.read_text()
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=90)
    assert code == exits.OK
    assert "Traceback" not in log.read_text()


@pytest.mark.parametrize("moment", ["sandbox starting", "daemon starting"])
def test_one_ctrl_c_while_the_demo_starts_is_a_clean_stop(tmp_path: Path, moment: str) -> None:
    log = tmp_path / "demo.log"
    demo = start_demo(log, "--port", str(free_port()), "--metrics-port", str(free_port()))
    if moment == "sandbox starting":  # its handler is set before the sandbox is started
        wait_until(lambda: children_of(demo.pid), 60, "the sandbox process")
    else:  # the daemon was just started: our SIGTERM may come before it can handle one
        wait_until(lambda: "sandbox at" in log.read_text(), 120, "the sandbox")
    demo.send_signal(signal.SIGINT)
    assert demo.wait(timeout=90) == exits.OK, log.read_text()[-2000:]
    assert "Traceback" not in log.read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_stopped_by_ctrl_c_prints_no_error(tmp_path: Path) -> None:
    venv = Path(sys.executable).parent.parent
    flags = f"--port {free_port()} --metrics-port {free_port()} --every 1"
    log = tmp_path / "make.log"
    with log.open("wb") as out:
        make = subprocess.Popen(
            [
                *("make", "-C", str(REPO), "run", f"VENV={venv}", "-o", f"{venv}/.installed"),
                f"DEMO_FLAGS={flags}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    wait_until(lambda: "daemon_started" in log.read_text(), 120, "the demo's daemon")
    os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    make.wait(timeout=90)
    text = log.read_text()
    assert "make: ***" not in text and "Traceback" not in text, text[-2000:]
    assert make.returncode == -signal.SIGINT  # make re-raises the interrupt, as it should


def test_a_daemon_whose_config_misses_the_region_says_so_once(tmp_path: Path) -> None:
    sandbox = SandboxProcess("--region", "ap-southeast-2")
    config = write_config(tmp_path / "desired.yaml")  # regions: [eu-west-1]
    daemon = DaemonProcess(sandbox, config, tmp_path / "daemon.log")
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        flink = sandbox.client("kinesisanalyticsv2")
        for _ in range(2):
            detail = flink.describe_application(ApplicationName="fraud-scorer")
            flink.tag_resource(
                ResourceARN=detail["ApplicationDetail"]["ApplicationARN"],
                Tags=[{"Key": "touched", "Value": "yes"}],
            )
        warning = daemon.wait_for("events_not_covered", timeout=60)
        wait_until(
            lambda: (
                daemon.metric(
                    "flink_remediator_events_ignored_total", reason="region_not_configured"
                )
                >= 2
            ),
            30,
            "both events counted",
        )
        assert warning["level"] == "warning"
        assert warning["scope"] == "region 'ap-southeast-2'"
        assert warning["covered"] == ["eu-west-1"]
        assert len(daemon.events("events_not_covered")) == 1
    finally:
        daemon.stop()
        sandbox.stop()
