"""The daemon against a sandbox as unkind as AWS (issue 27): an SCP Deny on its write is a
terminal failure (recorded once, not retried), and it fixes drift from events delivered 60 s late
(on the sandbox clock, so no real wait) and delivered twice (fixed once, the copy dropped by its
dedupe). Its sweep runs only at start (interval 600 s), so a later fix came from the event."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.testing import advance_clock, pending_deliveries, scp_on
from tests.e2e.configs import write_config
from tests.e2e.test_enforced_iam_daemon import EnforcedSandboxProcess, generated_policy
from tests.e2e.test_forged_events import calls
from tests.harness import DaemonProcess, SandboxProcess, delete_logging, has_logging

pytestmark = pytest.mark.e2e
APP = "payments-enricher"  # compliant for cloudwatch_logging in the demo account
ADD = "AddApplicationCloudWatchLoggingOption"


def daemon_writes(sandbox: SandboxProcess, operation: str = ADD) -> list[dict[str, Any]]:
    arn = sandbox.info["principals"]["daemon"]["arn"]
    made = calls(sandbox, caller_arn=arn, operation=operation)
    return [c for c in made if c["application"] == APP]


def flush_events(sandbox: SandboxProcess, daemon: DaemonProcess) -> None:
    """Deliver every event still pending (the demo's seeding, the start sweep's writes) and let
    the daemon take them, so what comes next is caused by the test's change alone."""
    advance_clock(sandbox.info["endpoint_url"], 3600)
    time.sleep(2.5)  # the daemon polls every 1 s
    daemon.until(
        lambda: daemon.metric("flink_remediator_queue_messages", queue="events") == 0,
        "the queue drained",
    )


@pytest.fixture
def enforced() -> Iterator[EnforcedSandboxProcess]:
    running = EnforcedSandboxProcess()
    yield running
    running.stop()


def test_an_scp_deny_on_the_fix_is_terminal(
    enforced: EnforcedSandboxProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    config = write_config(tmp_path / "desired.yaml")
    policy = generated_policy(enforced, config, monkeypatch, capsys)
    daemon_user = enforced.info["principals"]["daemon"]
    iam = enforced.admin("iam")
    iam.put_user_policy(
        UserName=daemon_user["user_name"], PolicyName="generated", PolicyDocument=json.dumps(policy)
    )
    info = enforced.info
    deny = {"Effect": "Deny", "Action": f"kinesisanalytics:{ADD}", "Resource": "*"}
    scp_on(
        info["endpoint_url"],
        info["region"],
        info["account_id"],
        {"Version": "2012-10-17", "Statement": [deny]},
    )
    daemon = DaemonProcess(enforced, config, tmp_path / "daemon.log")
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        delete_logging(enforced.admin("kinesisanalyticsv2"), APP)
        failed = daemon.wait_for("remediation_failed", app=APP, trigger="event")
        assert "explicit deny in a service control policy" in failed["error"], failed
        given_up = daemon.wait_for("reconcile_given_up", app=APP)
        assert "AccessDenied" in given_up["error"]
        time.sleep(3)  # several polls: nothing retries it
        assert len(daemon_writes(enforced)) == 1
        assert [c["error_code"] for c in daemon_writes(enforced)] == ["AccessDeniedException"]
        assert not has_logging(enforced.admin("kinesisanalyticsv2"), APP)
        attributes = enforced.admin("sqs").get_queue_attributes(
            QueueUrl=info["queue_url"], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"  # acknowledged
    finally:
        assert daemon.stop(signal.SIGTERM) == 0


def test_drift_is_fixed_from_an_event_delivered_60_s_late(tmp_path: Path) -> None:
    sandbox = SandboxProcess("--delivery-delay-seconds", "60")
    daemon = DaemonProcess(sandbox, write_config(tmp_path / "desired.yaml"), tmp_path / "d.log")
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        flush_events(sandbox, daemon)
        delete_logging(sandbox.client("kinesisanalyticsv2"), APP)
        time.sleep(3)  # three polls: the event is not due yet, and the sweep does not run
        assert not daemon.events("remediation_applied", app=APP)
        assert not has_logging(sandbox.client("kinesisanalyticsv2"), APP)
        [late] = pending_deliveries(sandbox.info["endpoint_url"])
        assert late["event_name"] == "DeleteApplicationCloudWatchLoggingOption"
        assert 50 < late["due_in_seconds"] <= 60
        advance_clock(sandbox.info["endpoint_url"], 60)
        applied = daemon.wait_for("remediation_applied", app=APP)
        assert applied["trigger"] == "event" and applied["event_id"] == late["event_id"]
        assert has_logging(sandbox.client("kinesisanalyticsv2"), APP)
        assert len(daemon.events("sweep_finished")) == 1
    finally:
        assert daemon.stop(signal.SIGTERM) == 0
        sandbox.stop()


def test_a_duplicated_event_is_fixed_once(tmp_path: Path) -> None:
    sandbox = SandboxProcess(
        *("--duplicate-probability", "1", "--duplicate-delay-seconds", "30"),
    )
    daemon = DaemonProcess(sandbox, write_config(tmp_path / "desired.yaml"), tmp_path / "d.log")
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        flush_events(sandbox, daemon)
        duplicates = daemon.metric("flink_remediator_events_ignored_total", reason="duplicate")
        delete_logging(sandbox.client("kinesisanalyticsv2"), APP)
        first, copy = pending_deliveries(sandbox.info["endpoint_url"])
        assert first["event_id"] == copy["event_id"]  # the same CloudTrail event, twice
        assert copy["due_in_seconds"] - first["due_in_seconds"] == pytest.approx(30, abs=0.01)
        advance_clock(sandbox.info["endpoint_url"], first["due_in_seconds"])
        applied = daemon.wait_for("remediation_applied", app=APP)
        assert applied["trigger"] == "event" and applied["event_id"] == first["event_id"]
        time.sleep(1.5)  # the fix's own event: pending; nothing else arrives meanwhile
        advance_clock(sandbox.info["endpoint_url"], 60)  # the copy (and the own events) arrive
        daemon.until(
            lambda: [
                r
                for r in daemon.events("event_ignored", reason="duplicate")
                if applied["event_id"] in r["detail"]
            ],
            "the copy dropped as a duplicate",
            timeout=30,
        )
        assert daemon.metric("flink_remediator_events_ignored_total", reason="duplicate") > (
            duplicates
        )
        time.sleep(2)
        assert len(daemon_writes(sandbox)) == 1  # fixed once
        assert len(daemon.events("remediation_applied", app=APP)) == 1
    finally:
        assert daemon.stop(signal.SIGTERM) == 0
        sandbox.stop()
