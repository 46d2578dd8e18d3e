"""Remembered tags (daemon/reconcile/tags.py) against the sandbox over HTTP: the sandbox's own
call record counts the daemon principal's ListTagsForResource calls.

The real Reconciler, EventConsumer, Intake and Router; a submit that records what the consumer
owes instead of a work queue (the test runs those reconciles itself, as the queue would).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from daemon.aws import Aws, AwsByRegion
from daemon.desired.config import DesiredConfig
from daemon.desired.loader import load_config
from daemon.ingest.consumer import EventConsumer
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.identity import OwnIdentity
from daemon.ingest.intake import Intake
from daemon.ingest.router import Router
from daemon.ingest.sqs import Message, SqsQueue
from daemon.reconcile.inventory import Inventory
from daemon.reconcile.reconciler import Reads, Reconciler
from daemon.reconcile.rules import resolver_for
from daemon.reconcile.tags import TagCache
from daemon.reconcile.workqueue import Ticket
from daemon.state import AppRef, Cause
from sandbox.server import Sandbox
from sandbox.testing import Credentials, execution_role, receive_envelopes
from tests.clock import FakeClock
from tests.e2e.configs import write_config

MAX_AGE = 900.0
APPS = 3
OPT_OUT = {"Key": "flink-remediator/ignore", "Value": "true"}
EVENT = Cause("event", "e-1", "arn:aws:iam::123456789012:user/someone")


class Daemon:
    """The daemon's read side over one sandbox: reconciler with a tag cache, the consumer."""

    def __init__(self, sandbox: Sandbox, keys: Credentials, config: DesiredConfig) -> None:
        session = boto3.session.Session(
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            region_name=sandbox.region,
        )
        self.sandbox, self.arn = sandbox, keys.arn
        self.client = Aws(sandbox.region, session=session, max_backoff_seconds=0.2)
        self.clock = FakeClock()
        self.tags = TagCache(MAX_AGE, self.clock)
        self.reconciler = Reconciler(
            lambda app: self.client, resolver_for(lambda: config), reads=Reads(tags=self.tags)
        )
        self.owed: list[tuple[set[AppRef], Cause]] = []
        intake = Intake(
            OwnIdentity.from_caller_identity(keys.arn),
            EventIdCache(),
            lambda: config,
            dedupe_completed_only=True,
        )
        router = Router(Inventory(), _no_lookups)
        queue = SqsQueue(self.client, sandbox.queue_url, 60)
        self.consumer = EventConsumer(queue, intake, router, self.submit, tags=self.tags)

    def submit(self, apps: set[AppRef], cause: Cause, ticket: Ticket[AppRef]) -> None:
        self.owed.append((apps, cause))

    def calls(self, operation: str) -> int:
        return sum(
            1 for c in self.sandbox.calls() if c.caller_arn == self.arn and c.operation == operation
        )

    def writes(self) -> list[str]:
        reads = ("Describe", "List", "Get")
        return [
            c.operation
            for c in self.sandbox.calls()
            if c.caller_arn == self.arn and not c.operation.startswith(reads)
        ]

    def deliver_events(self, name: str) -> None:
        """The CloudTrail events the sandbox queued, through the consumer, as SQS delivers."""
        sqs = boto3.client(
            "sqs",
            endpoint_url=self.sandbox.endpoint_url,
            region_name=self.sandbox.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        for n, envelope in enumerate(receive_envelopes(sqs, self.sandbox.queue_url)):
            if envelope["detail"]["eventName"] == name:
                self.consumer.handle(Message(f"m-{n}", f"h-{n}", json.dumps(envelope), 1))


def _no_lookups(account: str) -> AwsByRegion:
    raise AssertionError("an application event needs no AWS look-up to route")


@pytest.fixture
def daemon(
    fresh_sandbox: Sandbox,
    aws: Callable[..., Any],
    iam_user: Callable[..., Credentials],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Daemon, tuple[AppRef, ...]]:
    """APPS apps, each with its log group and stream but no logging option (a drift that the
    logging rule fixes with one write), swept once: their tags are remembered."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    flink, logs = aws("kinesisanalyticsv2"), aws("logs")
    role = execution_role(aws("iam"), "tags-role")
    for i in range(APPS):
        group = f"/aws/kinesis-analytics/app-{i}"
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="kinesis-analytics-log-stream")
        flink.create_application(
            ApplicationName=f"app-{i}", RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=role
        )
    config = load_config(
        write_config(
            tmp_path / "desired.yaml",
            regions=(fresh_sandbox.region,),
            account=fresh_sandbox.account_id,
        )
    )
    running = Daemon(fresh_sandbox, iam_user("flink-remediator"), config)
    apps = tuple(
        AppRef(fresh_sandbox.account_id, fresh_sandbox.region, f"app-{i}") for i in range(APPS)
    )
    for app in apps:
        assert running.reconciler.reconcile(app, Cause("sweep")).result == "fixed"
    receive_envelopes(aws("sqs"), fresh_sandbox.queue_url)  # the setup's events: not the test's
    return running, apps


def test_a_sweep_reads_every_apps_tags_and_a_burst_of_events_reads_none(
    daemon: tuple[Daemon, tuple[AppRef, ...]],
) -> None:
    running, apps = daemon
    assert running.calls("ListTagsForResource") == APPS  # the sweep: one fresh read per app
    for _ in range(5):
        for app in apps:
            assert running.reconciler.reconcile(app, EVENT).result == "in_sync"
    assert running.calls("ListTagsForResource") == APPS  # 15 event reconciles: no tag read
    assert running.calls("DescribeApplication") == APPS * 6  # one describe per reconcile
    for app in apps:
        running.reconciler.reconcile(app, Cause("sweep"))
    assert running.calls("ListTagsForResource") == APPS * 2  # a sweep always reads fresh


def test_an_opt_out_tag_event_reads_fresh_and_no_fix_is_applied(
    daemon: tuple[Daemon, tuple[AppRef, ...]], aws: Callable[..., Any], fresh_sandbox: Sandbox
) -> None:
    running, apps = daemon
    flink = aws("kinesisanalyticsv2")
    app = apps[0]
    option = flink.describe_application(ApplicationName=app.name)["ApplicationDetail"]
    version = option["ApplicationVersionId"]
    logging = option["CloudWatchLoggingOptionDescriptions"][0]["CloudWatchLoggingOptionId"]
    # Someone opts the app out, then removes its logging (the drift the daemon would fix).
    flink.tag_resource(ResourceARN=app.arn, Tags=[OPT_OUT])
    flink.delete_application_cloud_watch_logging_option(
        ApplicationName=app.name,
        CurrentApplicationVersionId=version,
        CloudWatchLoggingOptionId=logging,
    )
    tag_reads, writes = running.calls("ListTagsForResource"), running.writes()
    running.deliver_events("TagResource")
    assert running.owed and running.owed[0][0] == {app}
    result = running.reconciler.reconcile(app, EVENT)
    assert result.result == "skipped" and "opt-out tag" in result.error
    assert running.calls("ListTagsForResource") == tag_reads + 1  # the event made it fresh
    assert running.writes() == writes  # the fix was NOT applied
    # Later events for the app use the opt-out tags now remembered: still skipped, no read.
    assert running.reconciler.reconcile(app, EVENT).result == "skipped"
    assert running.calls("ListTagsForResource") == tag_reads + 1


def test_without_the_tag_event_the_remembered_tags_would_have_been_used(
    daemon: tuple[Daemon, tuple[AppRef, ...]], aws: Callable[..., Any]
) -> None:
    """The control for the test above: what the consumer's forget prevents."""
    running, apps = daemon
    app = apps[0]
    aws("kinesisanalyticsv2").tag_resource(ResourceARN=app.arn, Tags=[OPT_OUT])
    tag_reads = running.calls("ListTagsForResource")
    assert running.reconciler.reconcile(app, EVENT).result == "in_sync"  # opt-out not seen yet
    assert running.calls("ListTagsForResource") == tag_reads


def test_an_expired_entry_reads_fresh(daemon: tuple[Daemon, tuple[AppRef, ...]]) -> None:
    running, apps = daemon
    tag_reads = running.calls("ListTagsForResource")
    running.clock.now += MAX_AGE - 1
    running.reconciler.reconcile(apps[0], EVENT)
    assert running.calls("ListTagsForResource") == tag_reads  # still young
    running.clock.now += 1
    running.reconciler.reconcile(apps[0], EVENT)
    assert running.calls("ListTagsForResource") == tag_reads + 1  # expired: read again
    running.reconciler.reconcile(apps[0], EVENT)
    assert running.calls("ListTagsForResource") == tag_reads + 1  # and remembered anew


def test_a_new_app_reads_fresh_once(
    daemon: tuple[Daemon, tuple[AppRef, ...]],
    aws: Callable[..., Any],
    fresh_sandbox: Sandbox,
) -> None:
    running, _ = daemon
    aws("kinesisanalyticsv2").create_application(
        ApplicationName="newcomer",
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=execution_role(aws("iam"), "newcomer-role"),
    )
    app = AppRef(fresh_sandbox.account_id, fresh_sandbox.region, "newcomer")
    tag_reads = running.calls("ListTagsForResource")
    running.reconciler.reconcile(app, EVENT)
    assert running.calls("ListTagsForResource") == tag_reads + 1  # never read: fresh
    running.reconciler.reconcile(app, EVENT)
    assert running.calls("ListTagsForResource") == tag_reads + 1
