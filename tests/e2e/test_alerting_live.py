"""Live alerting path (issue 8, part 4): the daemon runs against the sandbox, a real Prometheus
scrapes it and evaluates config/prometheus/alerts.yaml, and a real Alertmanager delivers to a
webhook in this test. alice routes a demo app's private subnet to the internet gateway: the
violation gauge, the firing alert and the webhook notification follow; the route is deleted
again and all three clear. Remediation counters are read back with PromQL."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.configs import write_config
from tests.e2e.prometheus import (
    AlertmanagerProcess,
    PrometheusProcess,
    WebhookReceiver,
    require_binary,
)
from tests.harness import DaemonProcess, SandboxProcess, delete_logging, has_logging, wait_until
from tests.telemetry.catalogue import ROOT

pytestmark = pytest.mark.e2e

ALERT_RULES = ROOT / "config" / "prometheus" / "alerts.yaml"
ALERT = "FlinkRemediatorPublicInternetRoute"
VPC_APP = "risk-aggregator"  # the demo app in the private subnet
LOGGING_APP = "payments-enricher"  # compliant logging in the demo account
JOB = 'job="flink-remediator"'
TIMEOUT = 30  # generous: each step normally takes a few seconds


@dataclass(frozen=True)
class Stack:
    sandbox: SandboxProcess
    daemon: DaemonProcess
    prometheus: PrometheusProcess
    webhook: WebhookReceiver


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    # Before anything starts: skip (or fail in CI) when the servers are not installed.
    require_binary("prometheus")
    require_binary("prometheus-alertmanager", "alertmanager")
    stoppers: list[Any] = []
    try:
        sandbox = SandboxProcess()
        stoppers.append(sandbox.stop)
        config = write_config(
            tmp_path / "desired.yaml", enabled=("vpc_public_route", "cloudwatch_logging")
        )
        daemon = DaemonProcess(sandbox, config, tmp_path / "daemon.log")
        stoppers.append(lambda: daemon.stop(signal.SIGKILL))
        webhook = WebhookReceiver()
        stoppers.append(webhook.stop)
        alertmanager = AlertmanagerProcess(tmp_path / "alertmanager", webhook.url)
        stoppers.append(alertmanager.stop)
        prometheus = PrometheusProcess(
            tmp_path / "prometheus",
            target=f"127.0.0.1:{daemon.port}",
            alertmanager=alertmanager.address,
            rule_files=(ALERT_RULES,),
        )
        stoppers.append(prometheus.stop)
        daemon.wait_for("sweep_finished", timeout=120)
        yield Stack(sandbox, daemon, prometheus, webhook)
    finally:
        for stop in reversed(stoppers):
            try:
                stop()
            except Exception as exc:  # stop the rest whatever one does
                print(f"teardown: {exc!r}")


def private_route_table(sandbox: SandboxProcess, ec2: Any) -> str:
    subnet = sandbox.info["network"]["private_subnet_id"]
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet]}]
    )["RouteTables"]
    assert len(tables) == 1, tables
    return str(tables[0]["RouteTableId"])


def route_default_to(ec2: Any, table: str, **target: str) -> None:
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **target)


def promql_value(prometheus: PrometheusProcess, promql: str) -> float:
    return prometheus.scalar(promql) or 0.0


def test_public_route_alert_fires_is_delivered_and_resolves(stack: Stack) -> None:
    sandbox, daemon, prometheus, webhook = (
        stack.sandbox,
        stack.daemon,
        stack.prometheus,
        stack.webhook,
    )
    ec2 = sandbox.client("ec2")  # alice's keys
    flink = sandbox.client("kinesisanalyticsv2")
    violation = {"application": VPC_APP, "rule": "vpc_public_route"}
    gauge = (
        f'flink_remediator_violation_active{{{JOB}, application="{VPC_APP}", '
        'rule="vpc_public_route"}'
    )

    compliant = f'sum(flink_remediator_compliant_apps{{{JOB}, rule="vpc_public_route"}})'
    # Prometheus scrapes the daemon under the job name the rules select on, and sees the
    # first sweep's verdict: the private subnet has no route out. A compliant app has no
    # per-application series (issue 29): it is counted in compliant_apps instead.
    wait_until(lambda: prometheus.query(compliant), TIMEOUT, "Prometheus to scrape the daemon")
    assert prometheus.scalar(f"up{{{JOB}}}") == 1
    seen_compliant = prometheus.scalar(compliant)
    assert seen_compliant is not None and seen_compliant >= 1
    assert prometheus.scalar(gauge) is None
    assert daemon.metric("flink_remediator_violation_active", **violation) == 0
    assert not prometheus.alerts(ALERT) and not webhook.bodies()

    # (a) alice routes the app's private subnet to the internet gateway.
    table = private_route_table(sandbox, ec2)
    igw = ec2.describe_internet_gateways()["InternetGateways"][0]["InternetGatewayId"]
    route_default_to(ec2, table, GatewayId=igw)
    wait_until(
        lambda: daemon.metric("flink_remediator_violation_active", **violation) == 1,
        TIMEOUT,
        "the daemon's violation gauge to be 1",
    )
    alerted = daemon.wait_for("violation_alerted", app=VPC_APP, rule="vpc_public_route")
    assert alerted["actor"] == sandbox.info["principals"]["actor"]["arn"]

    # (b) the alert fires in Prometheus right away (no `for`), with the rule's labels.
    firing = wait_until(
        lambda: prometheus.alerts(ALERT, application=VPC_APP), TIMEOUT, f"{ALERT} to fire"
    )
    labels, annotations = firing[0]["labels"], firing[0]["annotations"]
    assert labels["severity"] == "critical" and labels["job"] == "flink-remediator"
    assert labels["account"] == sandbox.info["account_id"]
    assert labels["region"] == sandbox.info["region"]
    assert VPC_APP in annotations["summary"]
    assert annotations["runbook_url"].endswith("#flinkremediatorpublicinternetroute")
    assert "instance" not in labels  # aggregated away: replicas give one alert

    # (c) Alertmanager delivers it to the webhook.
    delivered = wait_until(
        lambda: webhook.notifications(ALERT, "firing", application=VPC_APP),
        TIMEOUT,
        "the firing alert at the webhook",
    )
    assert delivered[0]["labels"]["severity"] == "critical"
    assert VPC_APP in delivered[0]["annotations"]["summary"]
    fingerprint = delivered[0]["fingerprint"]
    body = next(
        b for b in webhook.bodies() if any(a["fingerprint"] == fingerprint for a in b["alerts"])
    )
    assert body["status"] == "firing" and body["receiver"] == "test-webhook"
    assert body["commonLabels"]["alertname"] == ALERT
    assert body["commonLabels"]["application"] == VPC_APP
    assert body["commonLabels"]["job"] == "flink-remediator"

    # (d) remediation counters through PromQL: the alert-only finding, then a logging fix.
    alerted_total = (
        f'sum(flink_remediator_remediations_total{{{JOB}, rule="vpc_public_route", '
        'outcome="alerted", mode="alert"})'
    )
    wait_until(
        lambda: promql_value(prometheus, alerted_total) >= 1,
        TIMEOUT,
        "the alerted vpc_public_route remediation in Prometheus",
    )
    applied_total = (
        f'sum(flink_remediator_remediations_total{{{JOB}, rule="cloudwatch_logging", '
        'outcome="applied", mode="enforce"})'
    )
    before = promql_value(prometheus, applied_total)
    assert before == daemon.metric(
        "flink_remediator_remediations_total", rule="cloudwatch_logging", outcome="applied"
    )  # the first sweep's fixes of the drifted demo apps, already scraped
    delete_logging(flink, LOGGING_APP)
    wait_until(lambda: has_logging(flink, LOGGING_APP), TIMEOUT, "the logging option back")
    wait_until(
        lambda: promql_value(prometheus, applied_total) == before + 1,
        TIMEOUT,
        "the logging fix counted in Prometheus",
    )
    fixed = f'sum(flink_remediator_reconciles_total{{{JOB}, trigger="event", result="fixed"}})'
    assert promql_value(prometheus, fixed) >= 1

    # (e) the route is deleted: the series is removed (stale), alert gone, webhook "resolved".
    ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
    wait_until(
        lambda: daemon.metric("flink_remediator_violation_active", **violation) == 0,
        TIMEOUT,
        "the daemon's violation series to be removed",
    )
    wait_until(lambda: prometheus.scalar(gauge) is None, TIMEOUT, "Prometheus to see it gone")
    assert prometheus.scalar(compliant) == seen_compliant
    wait_until(lambda: not prometheus.alerts(ALERT), TIMEOUT, f"{ALERT} to stop firing")
    resolved = wait_until(
        lambda: webhook.notifications(ALERT, "resolved", application=VPC_APP),
        TIMEOUT,
        "the resolved notification at the webhook",
    )
    assert resolved[0]["endsAt"] >= delivered[0]["startsAt"]
    assert daemon.process.poll() is None
