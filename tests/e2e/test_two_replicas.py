"""Two replicas (issue 9, part 4): two `flink-remediator run` processes with the same config,
the same credentials and the same queue, against one sandbox, fix every drift exactly once.

Judged from the sandbox's own call record and the applications' version ids, not from what the
daemons say: each versioned fix succeeds once per drift, a second replica's attempt ends in
ConcurrentModificationException / ResourceInUseException (then re-plans and finds nothing), and
non-versioned writes are either done once (creates, detaches) or repeated harmlessly (tags and
trust policies set the same value). docs/install-eks.md ("Running several replicas") cites
this file.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.configs import write_config
from tests.harness import DaemonProcess, SandboxProcess, wait_until

pytestmark = pytest.mark.e2e

# A refused write: the version token was stale, or the app was UPDATING after the other's fix.
REFUSED = {"ConcurrentModificationException", "ResourceInUseException"}
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
WANTED_MONITORING = {
    "ConfigurationType": "CUSTOM",
    "LogLevel": "INFO",
    "MetricsLevel": "APPLICATION",
}
LOGGING = "CloudWatchLoggingOptions"
LEVEL, METRICS = "MonitoringConfiguration.LogLevel", "MonitoringConfiguration.MetricsLevel"


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    running = SandboxProcess()
    yield running
    running.stop()


@pytest.fixture
def start_two(sandbox: SandboxProcess, tmp_path: Path) -> Iterator[Callable[[Path], list[Any]]]:
    started: list[DaemonProcess] = []

    def start(config: Path) -> list[DaemonProcess]:
        # Both processes start before either is waited for: their start-up sweeps overlap.
        for n in range(2):
            started.append(DaemonProcess(sandbox, config, tmp_path / f"replica{n}.log"))
        for daemon in started:
            daemon.wait_for("sweep_finished", timeout=60)
        return list(started)

    yield start
    for daemon in started:
        daemon.stop(signal.SIGKILL)


# -- what the sandbox saw ----------------------------------------------------------------------


def daemon_writes(sandbox: SandboxProcess) -> list[dict[str, Any]]:
    """The daemons' mutating calls on the account (SQS message handling and the daemons' own
    state table left out: a conditional PutItem refused there is another replica's newer
    state, not a write to the fleet)."""
    arn = sandbox.info["principals"]["daemon"]["arn"]
    writes = sandbox.call_log.calls(mutating="true", caller_arn=arn)
    return [c for c in writes if c["service"] not in ("sqs", "dynamodb")]


def succeeded(writes: list[dict[str, Any]]) -> Counter[str]:
    return Counter(c["operation"] for c in writes if c["error_code"] is None)


def queue_drained(sandbox: SandboxProcess) -> bool:
    attributes = sandbox.client("sqs").get_queue_attributes(
        QueueUrl=sandbox.info["queue_url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(v) == 0 for v in attributes.values())


def drain(sandbox: SandboxProcess) -> None:
    """Delete what is on the queue (PurgeQueue is allowed once a minute; the demo used it)."""
    sqs, url = sandbox.client("sqs"), sandbox.info["queue_url"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert queue_drained(sandbox)


def applied(daemons: list[DaemonProcess]) -> Counter[tuple[str, str]]:
    """remediation_applied records of both replicas together, per (app, field)."""
    return Counter((r["app"], r["field"]) for d in daemons for r in d.events("remediation_applied"))


def problems(daemons: list[DaemonProcess]) -> list[dict[str, Any]]:
    return [
        r
        for d in daemons
        for r in d.records()
        if r.get("event") == "remediation_failed"
        or (r.get("event") == "reconcile_finished" and r.get("result") == "error")
    ]


# -- the applications ----------------------------------------------------------------------------


def detail(flink: Any, app: str) -> dict[str, Any]:
    return dict(flink.describe_application(ApplicationName=app)["ApplicationDetail"])


def versions(flink: Any, apps: list[str]) -> dict[str, int]:
    return {app: int(detail(flink, app)["ApplicationVersionId"]) for app in apps}


def monitoring(current: dict[str, Any]) -> dict[str, Any]:
    flink_config = current["ApplicationConfigurationDescription"][
        "FlinkApplicationConfigurationDescription"
    ]
    return dict(flink_config["MonitoringConfigurationDescription"])


def compliant(flink: Any, app: str, stream_arn: str) -> bool:
    current = detail(flink, app)
    options = [o["LogStreamARN"] for o in current.get("CloudWatchLoggingOptionDescriptions", [])]
    wanted = monitoring(current).items() >= WANTED_MONITORING.items()
    return (
        options == [stream_arn] and wanted and current["ApplicationStatus"] in {"READY", "RUNNING"}
    )


def stream_arn(sandbox: SandboxProcess, app: str) -> str:
    info = sandbox.info
    return (
        f"arn:aws:logs:{info['region']}:{info['account_id']}:log-group:"
        f"/aws/kinesis-analytics/{app}:log-stream:kinesis-analytics-log-stream"
    )


def as_alice(flink: Any, app: str, change: Callable[[dict[str, Any]], None]) -> None:
    """One change by alice on a fresh read, re-read and retried if a daemon's fix got in first
    (a real user's tooling does the same). Exactly one successful call per invocation."""
    deadline = time.monotonic() + 20
    while True:
        try:
            change(detail(flink, app))
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in REFUSED or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def delete_logging(flink: Any, app: str) -> None:
    def change(current: dict[str, Any]) -> None:
        (option,) = current["CloudWatchLoggingOptionDescriptions"]
        flink.delete_application_cloud_watch_logging_option(
            ApplicationName=app,
            CurrentApplicationVersionId=current["ApplicationVersionId"],
            CloudWatchLoggingOptionId=option["CloudWatchLoggingOptionId"],
        )

    as_alice(flink, app, change)


def set_monitoring(flink: Any, app: str, **levels: str) -> None:
    def change(current: dict[str, Any]) -> None:
        flink.update_application(
            ApplicationName=app,
            CurrentApplicationVersionId=current["ApplicationVersionId"],
            ApplicationConfigurationUpdate={
                "FlinkApplicationConfigurationUpdate": {
                    "MonitoringConfigurationUpdate": {"ConfigurationTypeUpdate": "CUSTOM", **levels}
                }
            },
        )

    as_alice(flink, app, change)


# -- the tests -----------------------------------------------------------------------------------


def test_events_about_the_same_apps_on_two_replicas_fix_each_drift_once(
    sandbox: SandboxProcess, start_two: Callable[[Path], list[DaemonProcess]], tmp_path: Path
) -> None:
    apps = list(sandbox.info["applications"])
    flink = sandbox.client("kinesisanalyticsv2")
    daemons = start_two(write_config(tmp_path / "desired.yaml"))
    # The start-up sweeps fix the demo's own drift first (the next test is about that race).
    wait_until(
        lambda: (
            all(compliant(flink, a, stream_arn(sandbox, a)) for a in apps)
            and queue_drained(sandbox)
        ),
        30,
        "the demo drift to be fixed",
    )
    before = versions(flink, apps)
    already = applied(daemons)
    sandbox.call_log.clear()

    # alice drifts every app with real API calls; two changes to one app are two CloudTrail
    # events, which SQS may hand to different replicas: both then reconcile the same app.
    drifted: dict[str, set[str]] = {
        "payments-enricher": {LOGGING},
        "fraud-scorer": {LEVEL},
        "ledger-sink": {LOGGING, LEVEL, METRICS},
        "risk-aggregator": {LOGGING, LEVEL},
        "clickstream-sessionizer": {METRICS},
    }
    for app, fields in drifted.items():
        if LOGGING in fields:
            delete_logging(flink, app)
        levels = {"LogLevelUpdate": "DEBUG"} if LEVEL in fields else {}
        if METRICS in fields:
            levels["MetricsLevelUpdate"] = "TASK"
        if levels:
            set_monitoring(flink, app, **levels)

    wait_until(
        lambda: (
            all(compliant(flink, a, stream_arn(sandbox, a)) for a in apps)
            and queue_drained(sandbox)
        ),
        45,
        "every drift to be fixed and every event handled",
    )

    # alice made one call per kind of drift, and one fix call per kind undoes it: Add for a
    # missing logging option, one UpdateApplication for the levels (both of ledger-sink at once).
    kinds = {app: int(LOGGING in f) + int(bool(f - {LOGGING})) for app, f in drifted.items()}
    alice = sandbox.info["principals"]["actor"]["arn"]
    alice_changes = [
        c
        for c in sandbox.call_log.calls(caller_arn=alice, mutating="true")
        if c["error_code"] is None
    ]
    assert len(alice_changes) == sum(kinds.values()) and all(c["emitted"] for c in alice_changes)

    writes = daemon_writes(sandbox)
    assert succeeded(writes) == {
        "AddApplicationCloudWatchLoggingOption": sum(LOGGING in f for f in drifted.values()),
        "UpdateApplication": sum(bool(f - {LOGGING}) for f in drifted.values()),
    }, writes
    assert {c["error_code"] for c in writes} <= REFUSED | {None}, writes
    # The version ids moved by alice's changes plus one fix each, nothing more.
    assert versions(flink, apps) == {app: before[app] + 2 * kinds[app] for app in apps}

    # Both replicas' audit logs together: one remediation_applied per drifted field.
    expected = Counter({(app, field): 1 for app, fields in drifted.items() for field in fields})
    assert applied(daemons) - already == expected
    for record in (r for d in daemons for r in d.events("remediation_applied", trigger="event")):
        assert record["actor"] == alice
    assert not problems(daemons)


VERSIONED_FIXES = {
    "fraud-scorer": 1,
    "ledger-sink": 1,
    "risk-aggregator": 1,
    "clickstream-sessionizer": 1,
    "payments-enricher": 0,
}
# Writes that take no version token and set a value: a second replica may repeat them.
REPEATABLE_RULES = {"required_tags", "execution_role_trust"}


def test_start_up_sweeps_of_two_replicas_fix_the_initial_drift_once(
    sandbox: SandboxProcess, start_two: Callable[[Path], list[DaemonProcess]], tmp_path: Path
) -> None:
    apps = list(sandbox.info["applications"])
    flink, iam = sandbox.client("kinesisanalyticsv2"), sandbox.client("iam")
    # Besides the demo's drift (fraud-scorer logs nowhere, ledger-sink to the wrong stream,
    # risk-aggregator has DEFAULT monitoring, clickstream-sessionizer no snapshots, no role has
    # trust conditions, no app the owner tag): a missing log group and two roles with admin.
    sandbox.client("logs").delete_log_group(logGroupName="/aws/kinesis-analytics/fraud-scorer")
    for app in ("ledger-sink", "risk-aggregator"):
        iam.attach_role_policy(RoleName=f"{app}-execution", PolicyArn=ADMIN)
    drain(sandbox)  # alice's IAM events: this test is about the sweeps alone
    before = versions(flink, apps)
    sandbox.call_log.clear()

    config = write_config(
        tmp_path / "desired.yaml",
        enabled=(
            "cloudwatch_logging",
            "snapshots",
            "required_tags",
            "execution_role_trust",
            "execution_role_permissions",
        ),
        required_tags={"tags": {"owner": {"default": "platform-team"}}},
    )
    daemons = start_two(config)
    wait_until(lambda: queue_drained(sandbox), 30, "the replicas' own events to be handled")

    writes = daemon_writes(sandbox)
    refused = [c for c in writes if c["error_code"] is not None]
    print(f"refused writes (the race happened this many times): {len(refused)}")
    # The loser of a race is refused: a stale version token or an UPDATING app for Managed
    # Flink; for writes without a token, the group or stream already exists, the policy is
    # already detached. Either way it re-reads, re-plans and finds nothing (no failure below).
    lost = REFUSED | {"ResourceAlreadyExistsException", "NoSuchEntity"}
    assert {c["error_code"] for c in refused} <= lost, refused
    done = succeeded(writes)
    # Versioned writes, creates and detaches: exactly once.
    assert {
        op: n for op, n in done.items() if op not in {"TagResource", "UpdateAssumeRolePolicy"}
    } == {
        "AddApplicationCloudWatchLoggingOption": 1,
        "UpdateApplication": 3,
        "CreateLogGroup": 1,
        "PutRetentionPolicy": 1,
        "CreateLogStream": 1,
        "DetachRolePolicy": 2,
    }, writes
    assert versions(flink, apps) == {app: before[app] + VERSIONED_FIXES[app] for app in apps}
    # Tags and trust policies: at least once per app / role, at most once per replica.
    assert len(apps) <= done["TagResource"] <= 2 * len(apps)
    assert len(apps) <= done["UpdateAssumeRolePolicy"] <= 2 * len(apps)

    records = [r for d in daemons for r in d.events("remediation_applied")]
    per_field = Counter((r["app"], r["rule"], r["field"]) for r in records)
    print(sorted(per_field.items()))
    # A fix made once is recorded applied once (by the replica that claimed its outcome);
    # writes a second replica may repeat (tags, trust policies) are recorded by each maker.
    for (app, rule, field), count in per_field.items():
        limit = 2 if rule in REPEATABLE_RULES else 1
        assert 1 <= count <= limit, (app, rule, field, count)
    assert not problems(daemons)

    for app in apps:
        assert compliant(flink, app, stream_arn(sandbox, app))
        role = f"{app}-execution"
        trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        assert all("Condition" in s for s in trust["Statement"]), trust
        attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        assert ADMIN not in {p["PolicyArn"] for p in attached}
