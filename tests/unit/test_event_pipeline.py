"""The daemon's event side as one unit: what it registers on the daemon's health server,
schedule and tasks, and how each sweep's account refresh teaches the intake the member roles."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import boto3
import pytest

from daemon.aws import Aws, AwsByRegion
from daemon.desired.config import DesiredConfig
from daemon.desired.loader import parse_config
from daemon.ingest.events import Hint
from daemon.ingest.intake import Ignored
from daemon.ingest.pipeline import EventPipeline
from daemon.ingest.router import Router
from daemon.reconcile.accounts import AccountDirectory
from daemon.reconcile.inventory import Inventory
from daemon.settings import RunSettings
from daemon.tasks import Tasks
from daemon.telemetry.server import HealthServer
from tests.clock import RecordedSchedule
from tests.factories import update_event

OWN, MEMBER = "123456789012", "210987654321"
HUB = f"arn:aws:sts::{OWN}:assumed-role/hub/pod-1"
MEMBER_SESSION = f"arn:aws:sts::{MEMBER}:assumed-role/flink-remediator-member/flink-remediator"
ONE_ACCOUNT = f"version: 1\naccounts: ['{OWN}']\nregions: [us-east-1]\n"
TWO_ACCOUNTS = (
    f"version: 1\naccounts: ['{OWN}', '{MEMBER}']\nregions: [us-east-1]\n"
    "assume_role: 'arn:aws:iam::{account}:role/flink-remediator-member'\n"
)


@pytest.fixture
def health() -> Iterator[HealthServer]:
    server = HealthServer("127.0.0.1", 0).start()  # stop() waits for a started server
    yield server
    server.stop()


def pipeline(config: Callable[[], DesiredConfig]) -> EventPipeline:
    directory = AccountDirectory(config, lambda: pytest.fail("no organisation to read"))
    directory.own_account = OWN
    home = Aws("us-east-1", session=boto3.session.Session(region_name="us-east-1"))
    router = Router(Inventory(), lambda account: AwsByRegion())
    queue = f"https://sqs.us-east-1.amazonaws.com/{OWN}/events"
    settings = RunSettings("desired.yaml", queue_url=queue, visibility_timeout_seconds=90)
    return EventPipeline(home, settings, HUB, directory, config, router, lambda *_: None)


def test_it_registers_the_poller_liveness_queue_readiness_heartbeats_and_one_task(
    health: HealthServer,
) -> None:
    config = parse_config(ONE_ACCOUNT)
    events = pipeline(lambda: config)
    tasks, schedule = Tasks(), RecordedSchedule()
    events.register(tasks, schedule, health, threading.Event(), probe_seconds=5.0)
    assert set(health.report("/healthz")[1]) == {"sqs_poller"}
    assert set(health.report("/readyz")[1]) == {"queue"}
    # The heartbeat beats three times per receive visibility (30 s by default, within the 90 s
    # timeout); the depth is read at once, then every 5 s.
    visibility, depth = schedule.jobs["visibility"], schedule.jobs["queue_depth"]
    assert visibility == (events.consumer.extend_visibility, 10.0, False)
    assert depth == (events.consumer.measure_queues, 5.0, True)
    with pytest.raises(ValueError, match="sqs-consumer"):
        tasks.add("sqs-consumer", lambda: None, lambda: None)  # planned once, by the pipeline


def test_each_account_refresh_teaches_the_intake_the_member_roles() -> None:
    configs = [parse_config(ONE_ACCOUNT)]
    events = pipeline(lambda: configs[-1])
    assert events.identity().member_roles == frozenset()
    configs.append(parse_config(TWO_ACCOUNTS))  # a reload adds a member account
    # Until the next sweep refreshes the accounts, the daemon's member session is an outsider.
    assert isinstance(events.intake.accept(update_event(MEMBER, MEMBER_SESSION, "e-1")), Hint)
    assert events.refresh_accounts() == (OWN, MEMBER)
    dropped = events.intake.accept(update_event(MEMBER, MEMBER_SESSION, "e-2"))
    assert isinstance(dropped, Ignored) and dropped.reason == "own_identity"
