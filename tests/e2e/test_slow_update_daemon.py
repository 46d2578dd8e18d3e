"""Issue 13 at runtime: a 10-minute update on one application does not delay the fixes of the
others, with two workers (a transitional status is a retry-after, never a wait in a worker).

The daemon as its own process against a sandbox process; the slow update is the sandbox's
`next-update` control (sandbox/README.md), so the application really stays UPDATING."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.testing import next_update
from tests.e2e.configs import write_config
from tests.harness import DaemonProcess, SandboxProcess, delete_logging, has_logging, wait_until

pytestmark = pytest.mark.e2e
# As many slow apps as workers: a worker that waited for an update would leave none free.
SLOW, OTHERS = ("payments-enricher", "clickstream-sessionizer"), ("fraud-scorer", "ledger-sink")
TEN_MINUTES = 600.0


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    running = SandboxProcess()
    yield running
    running.stop()


def status(flink: Any, name: str) -> str:
    return str(
        flink.describe_application(ApplicationName=name)["ApplicationDetail"]["ApplicationStatus"]
    )


def test_a_ten_minute_update_on_one_app_does_not_delay_fixes_on_others(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "desired.yaml")
    daemon = DaemonProcess(sandbox, config, tmp_path / "daemon.log", "--workers", "2")
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        flink = sandbox.client("kinesisanalyticsv2")  # the outsider
        wait_until(lambda: all(has_logging(flink, n) for n in (*SLOW, *OTHERS)), 60, "fixed")

        # The outsider's changes to the SLOW apps take ten minutes: they stay UPDATING.
        for name in SLOW:
            next_update(sandbox.info["endpoint_url"], name, "succeed", TEN_MINUTES)
            delete_logging(flink, name)
            assert status(flink, name) == "UPDATING"
        daemon.wait_for("reconcile_finished", app=SLOW[-1])  # both workers met the slow apps
        for name in OTHERS:
            delete_logging(flink, name)

        # The others are fixed from their events while the slow apps are still updating.
        wait_until(lambda: all(has_logging(flink, n) for n in OTHERS), 60, "others fixed")
        assert all(status(flink, name) == "UPDATING" for name in SLOW)
        # The slow apps were reconciled and queued again to retry later, not waited for.
        assert all(daemon.events("reconcile_finished", app=name) for name in SLOW)
        assert daemon.metric("flink_remediator_work_queue_depth") >= len(SLOW)
    finally:
        daemon.stop(signal.SIGKILL)
