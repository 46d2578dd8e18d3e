"""The daemon as its own process against the sandbox: events, loops, bursts, bad input,
crashes, shutdown, config reloads and fights (issue 4)."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.configs import write_config
from tests.harness import DaemonProcess, SandboxProcess, wait_until

pytestmark = pytest.mark.e2e
APP = "payments-enricher"  # compliant in the demo account


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    running = SandboxProcess()
    yield running
    running.stop()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "desired.yaml")


@pytest.fixture
def start_daemon(sandbox: SandboxProcess, config: Path, tmp_path: Path) -> Iterator[Any]:
    started: list[DaemonProcess] = []

    def start(*args: str, config_path: Path = config) -> DaemonProcess:
        daemon = DaemonProcess(sandbox, config_path, tmp_path / f"daemon{len(started)}.log", *args)
        started.append(daemon)
        daemon.wait_for("sweep_finished", timeout=120)
        return daemon

    yield start
    for daemon in started:
        daemon.stop(signal.SIGKILL)


def detail(flink: Any, name: str = APP) -> dict[str, Any]:
    return dict(flink.describe_application(ApplicationName=name)["ApplicationDetail"])


def logging_arns(flink: Any, name: str = APP) -> list[str]:
    return [
        o["LogStreamARN"]
        for o in detail(flink, name).get("CloudWatchLoggingOptionDescriptions", [])
    ]


def delete_logging(flink: Any, name: str = APP) -> None:
    current = detail(flink, name)
    for option in current.get("CloudWatchLoggingOptionDescriptions", []):
        flink.delete_application_cloud_watch_logging_option(
            ApplicationName=name,
            CurrentApplicationVersionId=current["ApplicationVersionId"],
            CloudWatchLoggingOptionId=option["CloudWatchLoggingOptionId"],
        )


def test_deleted_logging_option_is_restored_audited_and_not_looped(
    sandbox: SandboxProcess, start_daemon: Any
) -> None:
    daemon = start_daemon()
    flink = sandbox.client("kinesisanalyticsv2")
    version = detail(flink)["ApplicationVersionId"]
    alice = sandbox.info["principals"]["actor"]["arn"]

    delete_logging(flink)
    wait_until(lambda: logging_arns(flink), 20, "the logging option to come back")

    audit = daemon.wait_for("remediation_applied", app=APP, rule="cloudwatch_logging")
    assert audit["actor"] == alice
    assert audit["trigger"] == "event" and audit["event_id"]
    assert audit["api_calls"] == ["kinesisanalyticsv2:AddApplicationCloudWatchLoggingOption"]
    # The daemon's own AddApplicationCloudWatchLoggingOption comes back as an event: ignored.
    daemon.wait_for("event_ignored", reason="own_identity")
    assert daemon.metric("flink_remediator_events_ignored_total", reason="own_identity") >= 1
    # alice's delete (+1) and exactly one fix (+1), and nothing more.
    assert detail(flink)["ApplicationVersionId"] == version + 2
    assert len(daemon.events("remediation_applied", app=APP)) == 1


def envelope(sandbox: SandboxProcess, app: str, event_id: str) -> str:
    info = sandbox.info
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.kinesisanalytics",
            "account": info["account_id"],
            "time": now,
            "region": info["region"],
            "resources": [],
            "detail": {
                "eventVersion": "1.09",
                "userIdentity": {"type": "IAMUser", "arn": info["principals"]["actor"]["arn"]},
                "eventTime": now,
                "eventSource": "kinesisanalytics.amazonaws.com",
                "eventName": "UpdateApplication",
                "awsRegion": info["region"],
                "requestParameters": {"applicationName": app, "currentApplicationVersionId": 1},
                "eventID": event_id,
                "eventType": "AwsApiCall",
                "readOnly": False,
                "recipientAccountId": info["account_id"],
            },
        }
    )


def send(sandbox: SandboxProcess, bodies: list[str], senders: int = 4) -> None:
    """SendMessageBatch from a few threads, like a burst from EventBridge."""
    batches = [bodies[i : i + 10] for i in range(0, len(bodies), 10)]

    def send_some(mine: list[list[str]]) -> None:
        sqs = sandbox.client("sqs")
        for batch in mine:
            sqs.send_message_batch(
                QueueUrl=sandbox.info["queue_url"],
                Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(batch)],
            )

    threads = [
        threading.Thread(target=send_some, args=(batches[n::senders],)) for n in range(senders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def queue_drained(sandbox: SandboxProcess) -> bool:
    attributes = sandbox.client("sqs").get_queue_attributes(
        QueueUrl=sandbox.info["queue_url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(v) == 0 for v in attributes.values())


def test_burst_of_1000_events_gives_at_most_two_reconciles_per_app(
    sandbox: SandboxProcess, start_daemon: Any
) -> None:
    flink = sandbox.client("kinesisanalyticsv2")
    role = detail(flink)["ServiceExecutionRole"]
    apps = list(sandbox.info["applications"])
    for i in range(20 - len(apps)):
        name = f"burst-app-{i:02d}"
        flink.create_application(
            ApplicationName=name, RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=role
        )
        apps.append(name)
    send(sandbox, [envelope(sandbox, apps[i % 20], str(uuid.uuid4())) for i in range(1000)])
    # The burst waits in the queue; the daemon starts (its first sweep included) and takes it
    # in well within one debounce window, so each app owes one run when its window ends.
    daemon = start_daemon("--debounce-seconds", "10")
    wait_until(lambda: queue_drained(sandbox), 240, "the queue to drain")

    runs = Counter(r["app"] for r in daemon.events("reconcile_finished"))
    assert all(1 <= runs[app] <= 2 for app in apps), runs
    assert (
        daemon.metric("flink_remediator_events_received_total", source="aws.kinesisanalytics")
        >= 1000
    )


MALFORMED = {
    "not_json": "this is not json {",
    "unknown_shape": json.dumps({"hello": "world"}),
    "other_service": json.dumps(
        {
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.s3",
            "detail": {
                "eventSource": "s3.amazonaws.com",
                "eventName": "PutObject",
                "eventID": "e1",
            },
        }
    ),
}


def test_malformed_messages_are_counted_dropped_and_real_drift_still_fixed(
    sandbox: SandboxProcess, start_daemon: Any
) -> None:
    daemon = start_daemon()
    good = json.loads(envelope(sandbox, APP, "x"))
    variants: dict[str, str] = dict(MALFORMED)
    for reason, change in (
        ("read_only", {"readOnly": True}),
        ("failed_call", {"errorCode": "AccessDenied", "errorMessage": "no"}),
        ("account_not_configured", {"recipientAccountId": "999999999999"}),
        ("region_not_configured", {"awsRegion": "ap-south-1"}),
        ("irrelevant_event", {"eventName": "ListApplications"}),
    ):
        body = json.loads(json.dumps(good))
        body["detail"].update(change, eventID=str(uuid.uuid4()))
        if reason == "account_not_configured":
            body["account"] = "999999999999"
        variants[reason] = json.dumps(body)
    send(sandbox, list(variants.values()))
    wait_until(lambda: queue_drained(sandbox), 30, "the queue to drain")
    for reason in variants:
        assert daemon.metric("flink_remediator_events_ignored_total", reason=reason) >= 1, reason

    flink = sandbox.client("kinesisanalyticsv2")
    delete_logging(flink)
    wait_until(lambda: logging_arns(flink), 20, "the logging option to come back")
    assert daemon.process.poll() is None


def test_kill_9_during_work_then_restart_still_fixes(
    sandbox: SandboxProcess, start_daemon: Any
) -> None:
    first = start_daemon("--debounce-seconds", "30", "--visibility-timeout-seconds", "3")
    flink = sandbox.client("kinesisanalyticsv2")
    delete_logging(flink)
    received = first.wait_for("event_received")
    first.stop(signal.SIGKILL)
    assert not logging_arns(flink)

    second = start_daemon()
    second.wait_for("event_received", event_id=received["event_id"], timeout=30)
    wait_until(lambda: logging_arns(flink), 20, "the logging option to come back")
    wait_until(lambda: queue_drained(sandbox), 30, "the queue to drain")


def test_sigterm_exits_zero_and_loses_no_message(
    sandbox: SandboxProcess, start_daemon: Any
) -> None:
    first = start_daemon("--debounce-seconds", "30")
    flink = sandbox.client("kinesisanalyticsv2")
    delete_logging(flink)
    received = first.wait_for("event_received")
    assert first.stop(signal.SIGTERM, timeout=45) == 0
    assert first.events("daemon_stopped")
    assert not queue_drained(sandbox)  # released, not deleted

    second = start_daemon()
    second.wait_for("event_received", event_id=received["event_id"], timeout=30)
    wait_until(lambda: logging_arns(flink), 20, "the logging option to come back")


def test_invalid_config_reload_keeps_the_last_good_config(
    sandbox: SandboxProcess, start_daemon: Any, tmp_path: Path
) -> None:
    good = write_config(tmp_path / "good.yaml")
    link = tmp_path / "current.yaml"
    link.symlink_to(good)
    daemon = start_daemon("--config-poll-seconds", "0.5", config_path=link)

    broken = tmp_path / "broken.yaml"
    broken.write_text('version: 1\naccounts: ["123456789012"]\nregions: [eu-west-1]\nrulez: {}\n')
    swap = tmp_path / "swap"
    swap.symlink_to(broken)
    swap.replace(link)  # atomic, like a ConfigMap update
    rejected = daemon.wait_for("config_rejected")
    assert "rulez" in rejected["problem"]
    assert daemon.metric("flink_remediator_config_reloads_total", result="rejected") == 1

    flink = sandbox.client("kinesisanalyticsv2")
    delete_logging(flink)
    wait_until(lambda: logging_arns(flink), 20, "the old config to still fix drift")

    alert = write_config(tmp_path / "alert.yaml", cloudwatch_logging={"mode": "alert"})
    swap = tmp_path / "swap2"
    swap.symlink_to(alert)
    swap.replace(link)
    daemon.wait_for("config_reloaded")
    delete_logging(flink)
    daemon.wait_for("violation_alerted", app=APP, rule="cloudwatch_logging")
    assert not logging_arns(flink)
    labels = {"application": APP, "rule": "cloudwatch_logging"}
    assert daemon.metric("flink_remediator_violation_active", **labels) == 1


def test_an_actor_that_undoes_every_fix_trips_the_budget(
    sandbox: SandboxProcess, start_daemon: Any
) -> None:
    daemon = start_daemon("--fix-budget", "2")
    flink = sandbox.client("kinesisanalyticsv2")
    stop = threading.Event()

    def undo_forever() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # a race with the daemon's fix: try again
                delete_logging(flink)
            stop.wait(1.0)

    actor = threading.Thread(target=undo_forever, daemon=True)
    actor.start()
    try:
        fight = daemon.wait_for("fight_detected", app=APP, rule="cloudwatch_logging", timeout=60)
    finally:
        stop.set()
        actor.join()
    assert fight["actor"] == sandbox.info["principals"]["actor"]["arn"]
    labels = {"application": APP, "rule": "cloudwatch_logging"}
    assert daemon.metric("flink_remediator_fight_active", **labels) == 1
    assert len(daemon.events("remediation_applied", app=APP, rule="cloudwatch_logging")) == 2


def test_public_route_event_raises_the_violation_and_its_removal_clears_it(
    sandbox: SandboxProcess, start_daemon: Any, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "vpc.yaml", enabled=("vpc_public_route",))
    daemon = start_daemon(config_path=config)
    ec2 = sandbox.client("ec2")
    net = sandbox.info["network"]
    table = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [net["private_subnet_id"]]}]
    )["RouteTables"][0]["RouteTableId"]
    igw = ec2.describe_internet_gateways()["InternetGateways"][0]["InternetGatewayId"]
    labels = {"application": "risk-aggregator", "rule": "vpc_public_route"}
    assert daemon.metric("flink_remediator_violation_active", **labels) == 0

    ec2.create_route(RouteTableId=table, DestinationIpv6CidrBlock="::/0", GatewayId=igw)
    wait_until(
        lambda: daemon.metric("flink_remediator_violation_active", **labels) == 1,
        20,
        "the violation gauge to rise",
    )
    alerted = daemon.wait_for("violation_alerted", app="risk-aggregator", rule="vpc_public_route")
    assert alerted["actor"] == sandbox.info["principals"]["actor"]["arn"]
    assert table in alerted["message"] and igw in alerted["message"]

    ec2.delete_route(RouteTableId=table, DestinationIpv6CidrBlock="::/0")
    wait_until(
        lambda: daemon.metric("flink_remediator_violation_active", **labels) == 0,
        20,
        "the violation gauge to clear",
    )
