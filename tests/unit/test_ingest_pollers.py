"""Several SQS receive loops (`--pollers`) feed one intake: they receive side by side, each
beats the heartbeat and acknowledges what it handled, and all stop when the daemon stops."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from daemon.desired.loader import load_config
from daemon.errors import SettingsError
from daemon.ingest.consumer import EventConsumer
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.identity import OwnIdentity
from daemon.ingest.intake import Intake
from daemon.ingest.router import Router
from daemon.ingest.sqs import SqsQueue
from daemon.reconcile.inventory import Inventory
from daemon.reconcile.workqueue import Ticket
from daemon.settings import RunSettings
from daemon.state import AppRef, Cause
from tests.e2e.configs import write_config

POLLERS = 3
WAIT = 10.0
OWN = "arn:aws:sts::123456789012:assumed-role/flink-remediator/session"


class ConcurrentSqs:
    """ReceiveMessage meets the other pollers at a barrier before answering: with fewer
    receive loops than POLLERS running side by side it never answers (the test fails)."""

    def __init__(self, stopping: threading.Event) -> None:
        self.barrier = threading.Barrier(POLLERS + 1, timeout=WAIT)  # and the test
        self.stopping = stopping
        self.receivers: set[str] = set()
        self.again: set[str] = set()  # pollers back for more: their message was handled
        self.all_back = threading.Event()
        self.deleted: list[str] = []
        self.lock = threading.Lock()

    def call(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]:
        if operation == "DeleteMessageBatch":
            with self.lock:
                self.deleted += [e["ReceiptHandle"] for e in params["Entries"]]
            return {}
        assert operation == "ReceiveMessage"
        name = threading.current_thread().name
        with self.lock:
            first = name not in self.receivers
            self.receivers.add(name)
        if not first:
            with self.lock:
                self.again.add(name)
                if len(self.again) == POLLERS:
                    self.all_back.set()
            self.stopping.wait(0.05)  # an empty long poll
            return {}
        self.barrier.wait()
        message = {"MessageId": name, "ReceiptHandle": f"h-{name}", "Body": "{}"}
        return {"Messages": [message]}


def no_submit(apps: set[AppRef], cause: Cause, ticket: Ticket[AppRef]) -> None:
    raise AssertionError("the test's messages are ignored by intake")


@pytest.fixture
def intake(tmp_path: Path) -> Intake:
    config = load_config(write_config(tmp_path / "desired.yaml"))
    return Intake(
        OwnIdentity.from_caller_identity(OWN),
        EventIdCache(),
        lambda: config,
        dedupe_completed_only=True,
    )


def test_pollers_receive_side_by_side_acknowledge_and_stop(intake: Intake) -> None:
    stopping = threading.Event()
    fake = ConcurrentSqs(stopping)
    queue = SqsQueue(fake, "https://sqs.eu-west-1.amazonaws.com/123456789012/q", 60)  # type: ignore[arg-type]
    router = Router(Inventory(), lambda account: None)  # type: ignore[arg-type,return-value]
    consumer = EventConsumer(queue, intake, router, no_submit, pollers=POLLERS)
    beats: list[str] = []
    consumer.start(stopping, lambda: beats.append(threading.current_thread().name))
    pollers = [t for t in threading.enumerate() if t.name.startswith("sqs-poller-")]
    assert len(pollers) == POLLERS
    fake.barrier.wait()  # never passes unless POLLERS receive loops run at once
    assert fake.all_back.wait(WAIT)
    # Each poller's message is acknowledged (the ignored body is deleted, not released).
    handles = {f"h-{t.name}" for t in pollers}
    stopping.set()
    for thread in pollers:
        thread.join(WAIT)
        assert not thread.is_alive()
    consumer.stop()
    assert set(fake.deleted) == handles
    assert {t.name for t in pollers} <= set(beats)  # each beats the liveness heartbeat


def test_pollers_setting_is_checked() -> None:
    assert RunSettings(config="c.yaml").pollers == POLLERS
    with pytest.raises(SettingsError, match=r"--pollers must be within 1\.\.16"):
        RunSettings(config="c.yaml", pollers=0).check()
    with pytest.raises(SettingsError, match=r"--pollers must be within 1\.\.16"):
        RunSettings(config="c.yaml", pollers=17).check()
