"""Console log lines are short and lead with event, app, rule and outcome; JSON keeps it all."""

from __future__ import annotations

import json

import pytest
import structlog

from daemon.commands.run import stop_summary
from daemon.state import AppRef
from daemon.telemetry import logs, metrics

FIELDS = {
    "message_id": "36bfb312-d67d-4751-b83f-e7a7a100b258",
    "app_arn": "arn:aws:kinesisanalytics:eu-west-1:123456789012:application/fraud-scorer",
    "account": "123456789012",
    "mode": "enforce",
    "outcome": "applied",
    "rule": "cloudwatch_logging",
    "app": "fraud-scorer",
    "after": "x" * 300,
    "actor": "arn:aws:iam::123456789012:user/alice",
}


def test_console_line_leads_with_event_app_rule_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("console")
    structlog.get_logger().info("remediation_applied", **FIELDS)
    line = capsys.readouterr().err.strip()
    words = line.split()
    assert words[2:6] == [
        "remediation_applied",
        "app=fraud-scorer",
        "rule=cloudwatch_logging",
        "outcome=applied",
    ]
    assert "actor=arn:aws:iam::123456789012:user/alice" in line  # ARNs are never cut
    assert "message_id" not in line and "app_arn" not in line
    assert "x" * 48 not in line and len(line) < 220  # the JSON log has the whole value


def test_console_leaves_out_healthy_apps_and_own_echoes(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("console")
    log = structlog.get_logger()
    log.info("reconcile_finished", app="a", result="in_sync")
    log.info("event_ignored", reason="own_identity")
    log.info("remediation_sent", app="c", attempt=1, attempt_id="f" * 32)
    log.info("reconcile_finished", app="b", result="fixed")
    err = capsys.readouterr().err
    assert "app=b" in err and "app=a" not in err and "own_identity" not in err
    assert "app=c" not in err  # each write request is in the JSON audit trail, not the console


def test_json_lines_are_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("json")
    structlog.get_logger().info("remediation_applied", **FIELDS)
    record = json.loads(capsys.readouterr().err)
    assert {k: record[k] for k in FIELDS} == FIELDS
    assert record["event"] == "remediation_applied" and record["timestamp"].endswith("Z")


def test_stop_summary_reads_the_process_counters() -> None:
    before = stop_summary()
    app = AppRef("123456789012", "eu-west-1", "summary-test")
    metrics.count_reconcile("sweep", "fixed")
    metrics.count_reconcile("event", "error")
    metrics.count_remediation("cloudwatch_logging", "applied", "enforce")
    metrics.count_remediation("snapshots", "alerted", "alert")
    metrics.forget_application(app)
    after = stop_summary()
    assert {k: after[k] - before[k] for k in after} == {
        "reconciles": 2,
        "fixes": 1,
        "alerts": 1,
        "errors": 1,
    }
