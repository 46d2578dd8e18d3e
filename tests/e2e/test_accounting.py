"""Trustworthy accounting (issue 20): with faults injected between the daemon and the sandbox,
the daemon's own books (error and call counters, audit records) agree exactly with what the
fault layer injected and what the sandbox served."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from daemon.aws import AwsByRegion
from daemon.cli import main
from daemon.desired.loader import load_config
from daemon.reconcile.inventory import Inventory, index_applications
from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.rules import resolver_for
from daemon.state import Cause
from daemon.telemetry import metrics
from sandbox.server import Sandbox
from tests.e2e.configs import write_config

RULES = ("cloudwatch_logging", "snapshots", "checkpointing", "system_rollback")


def counter_total(name: str, **labels: str) -> float:
    """Sum of a counter's samples over every label set matching `labels`."""
    total = 0.0
    for family in metrics.REGISTRY.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def install_faults(sandbox: Sandbox, rules: list[dict[str, Any]]) -> None:
    import urllib.request

    request = urllib.request.Request(
        f"{sandbox.endpoint_url}/_sandbox/faults",
        data=json.dumps(rules).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200


def fault_report(sandbox: Sandbox) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"{sandbox.endpoint_url}/_sandbox/faults") as answer:
        report: dict[str, Any] = json.loads(answer.read())
    return report


def apply(
    capsys: pytest.CaptureFixture[str], config: Path, *extra: str
) -> tuple[int, list[dict[str, Any]]]:
    """Run `apply`; its exit code and the JSON log records it wrote to stderr (the audit trail
    included, as a deployment's log shipper would read them)."""
    capsys.readouterr()
    code = main(["apply", "--config", str(config), "--output", "json", *extra])
    err = capsys.readouterr().err
    return code, [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def daemon_calls(sandbox: Sandbox, daemon_arn: str) -> list[Any]:
    return [c for c in sandbox.calls() if c.caller_arn == daemon_arn]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "c.yaml", enabled=RULES)


def test_errors_counted_equal_faults_injected_and_audit_equals_writes_served(
    demo: dict[str, Any], fresh_sandbox: Sandbox, config: Path, capsys: Any
) -> None:
    daemon_arn = demo["principals"]["daemon"]["arn"]
    install_faults(
        fresh_sandbox,
        [
            # Replies of writes lost after the sandbox applied them (every other one, so the
            # re-sent request, refused for its stale version id, keeps its reply).
            {"kind": "lost_reply", "operation": "UpdateApplication", "every": 2, "count": 2},
            # Writes throttled before they reach the backend.
            {"kind": "throttle", "operation": "AddApplicationCloudWatchLoggingOption", "count": 1},
            {"kind": "throttle", "mutating": False, "probability": 0.2, "seed": 7},
            {"kind": "unavailable", "mutating": False, "probability": 0.05, "seed": 3},
        ],
    )
    errors_before = counter_total("flink_remediator_aws_errors_total")
    calls_before = counter_total("flink_remediator_aws_calls_total")

    code, logs = apply(capsys, config, "--workers", "1")  # one app at a time: a known order
    report = fault_report(fresh_sandbox)
    served = daemon_calls(fresh_sandbox, daemon_arn)

    assert code == 0, logs
    assert report["total"] > 0
    # Every failed request is one counted error: an injected fault, or a real error the
    # sandbox answered (e.g. the stale version id of a write re-sent after a lost reply).
    real_errors = len([c for c in served if c.error_code])
    errors_counted = counter_total("flink_remediator_aws_errors_total") - errors_before
    assert errors_counted == report["total"] + real_errors
    # Every request is one counted call: one served, or one the fault layer answered instead.
    lost = sum(i["count"] for i in report["injected"] if i["kind"] == "lost_reply")
    calls_counted = counter_total("flink_remediator_aws_calls_total") - calls_before
    assert calls_counted == len(served) + report["total"] - lost

    # Audit: every write request is a `remediation_sent` record. Those the fault layer
    # answered never reached the sandbox (their `remediation_call_failed` says so: throttled,
    # maybe_applied false); all the others are exactly the writes the sandbox served, per app.
    sent = [r for r in logs if r["event"] == "remediation_sent"]
    turned_away = [
        r
        for r in logs
        if r["event"] == "remediation_call_failed" and r["code"] == "ThrottlingException"
    ]
    assert all(not r["maybe_applied"] for r in turned_away)
    write_faults = sum(
        i["count"]
        for i in report["injected"]
        if i["kind"] == "throttle" and i["operation"] == "AddApplicationCloudWatchLoggingOption"
    )
    assert lost == 2 and len(turned_away) == write_faults == 1
    audited = Counter(r["app"] for r in sent)
    audited.subtract(Counter(r["app"] for r in turned_away))
    served_by_app = Counter(c.application for c in served if c.mutating)
    assert +audited == served_by_app


def test_a_lost_reply_is_confirmed_by_a_fresh_read(
    demo: dict[str, Any], fresh_sandbox: Sandbox, config: Path, capsys: Any
) -> None:
    install_faults(
        fresh_sandbox,
        [{"kind": "lost_reply", "operation": "UpdateApplication", "count": 1}],
    )
    # Two READY apps: a restarting update of a RUNNING one is followed up by the daemon, which
    # a one-shot `apply` does not do (tests/e2e/test_safe_remediation.py covers that path).
    code, logs = apply(capsys, config, "--app", "ledger-sink", "--app", "fraud-scorer")
    assert code == 0

    failed = [r for r in logs if r["event"] == "remediation_call_failed"]
    # The first request took effect and its reply was lost; the re-sent one was refused (its
    # version id is stale, or the app is still UPDATING from the first): a re-read decides.
    assert [(r["code"], r["maybe_applied"]) for r in failed] in (
        [("ConnectionClosedError", True), ("ConcurrentModificationException", False)],
        [("ConnectionClosedError", True), ("ResourceInUseException", False)],
    )
    app = failed[0]["app"]
    confirmed = [
        r
        for r in logs
        if r["event"] == "remediation_applied" and r.get("confirmed") == "state re-read"
    ]
    assert confirmed and {r["app"] for r in confirmed} == {app}
    # The re-sent request with the old version id was refused: the change landed once.
    updates = [
        c.error_code
        for c in fresh_sandbox.calls()
        if c.operation == "UpdateApplication" and c.application == app
    ]
    assert updates[0] is None and len(updates) == 2
    # Each applied record names the requests that made the change, as AWS (here the sandbox,
    # which logs the same ids in its CloudTrail records) answered them.
    served_ids = {c.request_id for c in fresh_sandbox.calls() if c.mutating and c.request_id}
    applied = [r for r in logs if r["event"] == "remediation_applied" and r["app"] != app]
    assert applied and all(r["aws_request_ids"] for r in applied)
    assert {i for r in applied for i in r["aws_request_ids"]} <= served_ids


def test_dry_run_is_recorded_as_dry_run(
    demo: dict[str, Any], fresh_sandbox: Sandbox, config: Path
) -> None:
    enforce_before = counter_total("flink_remediator_remediations_total", mode="enforce")
    dry_before = counter_total("flink_remediator_remediations_total", mode="dry-run")
    desired = load_config(config)
    aws = AwsByRegion()
    reconciler = Reconciler(aws, resolver_for(lambda: desired), dry_run=True)
    apps = index_applications(aws, fresh_sandbox.account_id, desired.regions, Inventory())

    with capture_logs() as logs:
        results = [reconciler.reconcile(app, Cause("cli")) for app in sorted(apps)]

    assert {r.result for r in results} >= {"drift"}
    planned = [r for r in logs if r["event"] == "remediation_planned"]
    assert planned and {r["mode"] for r in planned} == {"dry-run"}
    assert not [r for r in logs if r["event"] == "remediation_sent"]
    assert counter_total("flink_remediator_remediations_total", mode="enforce") == enforce_before
    assert counter_total("flink_remediator_remediations_total", mode="dry-run") > dry_before
