"""Decisions that survive restarts and replicas (issue 26): `flink-remediator run` processes
with `--state-table` against `sandbox serve --demo` (its DynamoDB table), judged from the
sandbox's own call record. Windows run on the sandbox clock (POST /_sandbox/clock), never on
sleeps: the daemon follows a change by polling, the sandbox decides when it ends."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.testing import advance_clock, next_update
from tests.e2e.configs import write_config
from tests.harness import DaemonProcess, SandboxProcess, free_port

pytestmark = pytest.mark.e2e

APP = "clickstream-sessionizer"  # the demo's RUNNING application, snapshots off
TRANSITION = 120.0  # sandbox seconds an update takes
SNAPSHOTS_ON = "ApplicationSnapshotConfiguration.SnapshotsEnabled"


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    running = SandboxProcess()
    yield running
    running.stop()


@pytest.fixture
def start(sandbox: SandboxProcess, tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    started: list[DaemonProcess] = []
    config = write_config(tmp_path / "desired.yaml", enabled=("snapshots",))

    def run(name: str, *args: str, env: dict[str, str] | None = None) -> DaemonProcess:
        daemon = DaemonProcess(sandbox, config, tmp_path / f"{name}.log", *args, env=env)
        started.append(daemon)
        return daemon

    yield run
    for daemon in started:
        daemon.stop(signal.SIGKILL)


def updates_of(sandbox: SandboxProcess, app: str = APP) -> list[dict[str, Any]]:
    """The daemon's UpdateApplication calls on `app` that the service accepted."""
    arn = sandbox.info["principals"]["daemon"]["arn"]
    calls = sandbox.call_log.calls(operation="UpdateApplication", caller_arn=arn)
    return [c for c in calls if c["error_code"] is None and c["application"] == app]


def app_status(sandbox: SandboxProcess) -> dict[str, Any]:
    flink = sandbox.client("kinesisanalyticsv2")
    detail: dict[str, Any] = flink.describe_application(ApplicationName=APP)["ApplicationDetail"]
    return detail


def with_system_rollback(sandbox: SandboxProcess) -> None:
    """The owner opts the app in to system rollback: a failed restart rolls back."""
    version = app_status(sandbox)["ApplicationVersionId"]
    sandbox.client("kinesisanalyticsv2").update_application(
        ApplicationName=APP,
        CurrentApplicationVersionId=version,
        ApplicationConfigurationUpdate={
            "ApplicationSystemRollbackConfigurationUpdate": {"RollbackEnabledUpdate": True}
        },
    )
    advance_clock(sandbox.info["endpoint_url"], 3600)
    assert app_status(sandbox)["ApplicationStatus"] == "RUNNING"


def rolled_back_fix(sandbox: SandboxProcess, first: DaemonProcess) -> None:
    """The first daemon's restarting fix is rolled back by the service; it backs off."""
    first.until(lambda: updates_of(sandbox), "the snapshots fix sent", 90)
    advance_clock(sandbox.info["endpoint_url"], 3 * TRANSITION)  # fails, rolls back, RUNNING
    first.wait_for("remediation_rolled_back", timeout=120, app=APP)
    first.wait_for("fix_backed_off", timeout=30, rule="snapshots")
    assert app_status(sandbox)["ApplicationStatus"] == "RUNNING"


@pytest.mark.parametrize("how", ["restarted", "beside"])
def test_the_backoff_holds_after_a_restart_and_on_a_second_replica(
    sandbox: SandboxProcess, start: Callable[..., DaemonProcess], how: str
) -> None:
    """`restarted`: the first daemon is stopped with SIGTERM and started again; `beside`: a
    second daemon starts next to the running first one. Neither makes the fix again."""
    with_system_rollback(sandbox)
    next_update(sandbox.info["endpoint_url"], APP, "rollback", TRANSITION)
    first = start("first")
    rolled_back_fix(sandbox, first)
    if how == "restarted":
        assert first.stop(signal.SIGTERM) == 0

    second = start(how)
    second.wait_for("sweep_finished", timeout=90)
    held = second.wait_for("remediation_skipped", timeout=30, app=APP)
    assert "backing off" in held["reason"]
    assert len(updates_of(sandbox)) == 1  # no restarting write during the backoff


def test_kill_9_mid_fix_the_next_daemon_records_its_outcome_once(
    sandbox: SandboxProcess, start: Callable[..., DaemonProcess]
) -> None:
    endpoint = sandbox.info["endpoint_url"]
    next_update(endpoint, APP, "succeed", TRANSITION)
    # The write reaches the service, then the daemon's next call hangs: it dies before it
    # could record the reply (the window a kill -9, an OOM or a lost node hits).
    hang = {"kind": "hang", "operation": "DescribeApplicationOperation", "seconds": 60}
    _faults(endpoint, [hang])
    first = start("first")
    first.until(lambda: updates_of(sandbox), "the snapshots fix sent", 90)
    first.stop(signal.SIGKILL)
    _faults(endpoint, [])
    assert not first.events("remediation_pending") and not first.events("remediation_applied")

    second = start("second")
    second.wait_for("write_adopted", timeout=90, rules=["snapshots"])
    advance_clock(endpoint, 2 * TRANSITION)  # the update succeeds
    applied = second.wait_for("remediation_applied", timeout=120, app=APP)
    assert applied["confirmed"] == "state re-read" and applied["operation_id"]
    second.wait_for("sweep_finished", timeout=60)
    records = [r for r in second.events("remediation_applied") if r["app"] == APP]
    assert len(records) == 1  # recorded once
    assert len(updates_of(sandbox)) == 1  # and not sent again
    assert app_status(sandbox)["ApplicationConfigurationDescription"][
        "ApplicationSnapshotConfigurationDescription"
    ]["SnapshotsEnabled"]


def test_without_the_store_restarting_fixes_are_held_and_the_rest_goes_on(
    sandbox: SandboxProcess, start: Callable[..., DaemonProcess], tmp_path: Path
) -> None:
    # The store's endpoint refuses connections (nothing listens on that port).
    refused = {"AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{free_port()}"}
    config = write_config(tmp_path / "both.yaml", enabled=("snapshots", "cloudwatch_logging"))
    daemon = DaemonProcess(sandbox, config, tmp_path / "down.log", env=refused)
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        held = daemon.wait_for("remediation_skipped", timeout=30, app=APP)
        assert held["reason"] == "hold: state store unavailable"
        assert not updates_of(sandbox)
        logging = daemon.events("remediation_applied", rule="cloudwatch_logging")
        assert {r["app"] for r in logging} >= {"fraud-scorer"}, "the other fixes go on"
        assert daemon.metric("flink_remediator_state_store_up") == 0
        with pytest.raises(Exception, match="503"):
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/readyz", timeout=5)
    finally:
        daemon.stop(signal.SIGKILL)


def _faults(endpoint: str, rules: list[dict[str, Any]]) -> None:
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{endpoint}/_sandbox/faults",
        data=json.dumps(rules).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def test_alerts_and_findings_are_not_sent_again_after_a_restart(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """An open violation's SNS alert is sent once, and its Security Hub finding keeps its
    FirstObservedAt, across a SIGTERM restart."""
    open_route_to_internet(sandbox)  # risk-aggregator's private subnet now routes to the IGW
    topic = sandbox.client("sns").create_topic(Name="flink-alerts")["TopicArn"]
    hub = sandbox.client("securityhub")
    hub.enable_security_hub()
    config = write_config(
        tmp_path / "alerts.yaml",
        enabled=("vpc_public_route",),
        vpc_public_route={"mode": "alert", "sns_topic_arn": topic},
    )
    doc = yaml.safe_load(config.read_text())
    doc["evidence"] = {"security_hub": {"enabled": True, "flush_interval_seconds": 5}}
    config.write_text(yaml.safe_dump(doc, sort_keys=False))

    first = DaemonProcess(sandbox, config, tmp_path / "first.log")
    try:
        first.until(lambda: publishes(sandbox), "the alert published", 90)
        found = first.until(lambda: route_findings(hub), "the finding imported", 60)
        first_seen = {f["Id"]: f["FirstObservedAt"] for f in found}
        assert first.stop(signal.SIGTERM) == 0
        sent = len(publishes(sandbox))

        second = DaemonProcess(sandbox, config, tmp_path / "second.log")
        second.wait_for("sweep_finished", timeout=90)
        assert second.events("drift_detected", rule="vpc_public_route")  # still open
        imports = len(sandbox.call_log.calls(operation="BatchImportFindings"))
        assert second.stop(signal.SIGTERM) == 0  # its last flush
        assert len(publishes(sandbox)) == sent  # not announced again
        assert {f["Id"]: f["FirstObservedAt"] for f in route_findings(hub)} == first_seen
        assert len(sandbox.call_log.calls(operation="BatchImportFindings")) == imports
    finally:
        first.stop(signal.SIGKILL)


def open_route_to_internet(sandbox: SandboxProcess) -> None:
    ec2, network = sandbox.client("ec2"), sandbox.info["network"]
    subnet = {"Name": "association.subnet-id", "Values": [network["private_subnet_id"]]}
    (table,) = ec2.describe_route_tables(Filters=[subnet])["RouteTables"]
    attached = {"Name": "attachment.vpc-id", "Values": [network["vpc_id"]]}
    (igw,) = ec2.describe_internet_gateways(Filters=[attached])["InternetGateways"]
    ec2.create_route(
        RouteTableId=table["RouteTableId"],
        DestinationCidrBlock="0.0.0.0/0",
        GatewayId=igw["InternetGatewayId"],
    )


def publishes(sandbox: SandboxProcess) -> list[dict[str, Any]]:
    return [c for c in sandbox.call_log.calls(operation="Publish") if c["error_code"] is None]


def route_findings(hub: Any) -> list[dict[str, Any]]:
    found = hub.get_findings(MaxResults=100)["Findings"]
    return [f for f in found if f.get("GeneratorId") == "flink-remediator/vpc_public_route"]
