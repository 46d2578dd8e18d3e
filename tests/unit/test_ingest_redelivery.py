"""SQS handling that never acknowledges work not done (issue 19 item 1).

The real SqsQueue, EventConsumer, Intake and work queue, with a fake SQS that records every
call: a redelivery of a message still in flight replaces its receipt handle, only the newest
delivery's outcome acknowledges (once, with the newest handle), and eventIDs count as duplicates
only once their work completed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from daemon import errors
from daemon.desired.loader import load_config
from daemon.ingest.consumer import EventConsumer
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.identity import OwnIdentity
from daemon.ingest.intake import Intake
from daemon.ingest.router import Router
from daemon.ingest.sqs import MAX_POLL_BACKOFF_SECONDS, Message, SqsQueue, poll_forever
from daemon.reconcile.controller import AppQueue, Work, settle_ticket, submitter
from daemon.reconcile.inventory import Inventory
from daemon.reconcile.workqueue import Retry, WorkQueue
from daemon.state import AppRef
from tests.clock import FakeClock
from tests.e2e.configs import write_config

WAIT = 10.0
EVENTS = Path(__file__).parent / "events"
BODY = (EVENTS / "kinesisanalytics-AddApplicationCloudWatchLoggingOption.json").read_text()
OWN = "arn:aws:sts::123456789012:assumed-role/flink-remediator/session"


class FakeSqs:
    """SQS as the daemon calls it: ReceiveMessage answers what `deliver` queued."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.inbox: list[dict[str, Any]] = []
        self.failing = ""  # an operation whose next call fails (past its call retries)

    def deliver(self, message_id: str, handle: str, body: str = BODY, count: int = 1) -> None:
        self.inbox.append(
            {
                "MessageId": message_id,
                "ReceiptHandle": handle,
                "Body": body,
                "Attributes": {"ApproximateReceiveCount": str(count)},
            }
        )

    def call(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]:
        self.calls.append((operation, params))
        if operation == self.failing:
            self.failing = ""
            raise errors.RetryableAwsError(operation, "ServiceUnavailable", "down", False)
        if operation == "ReceiveMessage":
            messages, self.inbox = self.inbox, []
            return {"Messages": messages}
        return {}

    def handles(self, operation: str) -> list[str]:
        """Receipt handles named by every call of `operation` (batch entries flattened)."""
        found = []
        for op, params in self.calls:
            if op == operation:
                entries = params.get("Entries", [params])
                found += [e["ReceiptHandle"] for e in entries]
        return found


class Runs:
    """The work queue's run: answers in order (then True); each run waits for `release()`."""

    def __init__(self, *answers: bool | Retry) -> None:
        self.answers = list(answers)
        self.started = threading.Semaphore(0)
        self.gate = threading.Semaphore(0)

    def __call__(self, app: AppRef, items: tuple[Work, ...]) -> bool | Retry:
        self.started.release()
        assert self.gate.acquire(timeout=WAIT)
        return self.answers.pop(0) if self.answers else True

    def next_started(self) -> None:
        assert self.started.acquire(timeout=WAIT), "no run started"

    def release(self) -> None:
        self.gate.release()


class Rig:
    def __init__(self, tmp_path: Path, runs: Runs) -> None:
        self.sqs_api = FakeSqs()
        self.clock = FakeClock()
        config = load_config(write_config(tmp_path / "desired.yaml"))
        intake = Intake(
            OwnIdentity.from_caller_identity(OWN),
            EventIdCache(),
            lambda: config,
            dedupe_completed_only=True,
        )
        self.sqs_clock = FakeClock()  # the heartbeat's: a beat extends what would run out soon
        self.queue = SqsQueue(self.sqs_api, "https://queue", 30, clock=self.sqs_clock)  # type: ignore[arg-type]
        self.work: AppQueue = WorkQueue(
            runs, on_done=settle_ticket, workers=1, debounce_seconds=0, clock=self.clock
        )
        # Every account's and Region's reads go to the fake (whose routing reads can fail).
        fake_regions = SimpleNamespace(region=lambda region: self.sqs_api)
        router = Router(Inventory(), lambda account: fake_regions)  # type: ignore[arg-type,return-value]
        self.consumer = EventConsumer(self.queue, intake, router, submitter(self.work))
        self.work.start()

    def receive(self) -> None:
        for message in self.queue.receive():
            self.consumer.handle(message)

    def finish(self) -> None:
        assert self.work.join(WAIT)
        self.work.stop(0)
        stop = threading.Event()
        stop.set()
        self.queue.flush_deletes(stop)  # sends what was acknowledged, then returns


@pytest.mark.parametrize("first_run", [True, Retry(5.0)], ids=["fixed", "throttled"])
def test_a_redelivery_in_flight_is_tracked_and_acknowledged_once_with_its_handle(
    tmp_path: Path, first_run: bool | Retry
) -> None:
    runs = Runs(first_run)
    rig = Rig(tmp_path, runs)
    rig.sqs_api.deliver("m-1", "handle-1")
    rig.receive()
    runs.next_started()
    # The heartbeat failed, visibility ran out: SQS delivers the message again mid-run.
    rig.sqs_api.deliver("m-1", "handle-2", count=2)
    rig.receive()
    rig.sqs_clock.now += 10.0  # one beat later
    rig.queue.extend_visibility()
    assert rig.sqs_api.handles("ChangeMessageVisibilityBatch") == ["handle-2"]
    runs.release()  # the first run ends (fixed, or throttled: retried later)
    runs.next_started()  # a run that started after the redelivery arrived
    rig.clock.now += 5.0
    rig.work.recheck()
    runs.release()
    rig.finish()
    assert rig.sqs_api.handles("DeleteMessageBatch") == ["handle-2"]
    assert rig.sqs_api.handles("ChangeMessageVisibility") == []  # never released


def test_only_the_newest_delivery_releases_a_message_whose_work_failed(tmp_path: Path) -> None:
    runs = Runs(False, False)  # e.g. the run crashed: nothing a retry here can promise
    rig = Rig(tmp_path, runs)
    rig.sqs_api.deliver("m-1", "handle-1")
    rig.receive()
    runs.next_started()
    rig.sqs_api.deliver("m-1", "handle-2", count=2)
    rig.receive()
    runs.release()  # the first delivery's ticket fails: superseded, so nothing is sent
    assert rig.sqs_api.handles("ChangeMessageVisibility") == []
    runs.next_started()
    runs.release()  # the newest delivery's ticket fails: released with its handle
    rig.finish()
    assert rig.sqs_api.handles("ChangeMessageVisibility") == ["handle-2"]
    assert rig.sqs_api.handles("DeleteMessageBatch") == []


def test_event_ids_are_duplicates_only_once_their_work_completed(tmp_path: Path) -> None:
    runs = Runs()
    rig = Rig(tmp_path, runs)
    rig.sqs_api.deliver("m-1", "handle-1")
    rig.receive()
    runs.next_started()
    # EventBridge delivered the same CloudTrail record twice (another MessageId): in flight,
    # it is work owed, not a duplicate.
    rig.sqs_api.deliver("m-2", "handle-2")
    rig.receive()
    runs.release()
    runs.next_started()
    runs.release()
    assert rig.work.join(WAIT)
    rig.sqs_api.deliver("m-3", "handle-3")  # after completion: a duplicate, dropped
    rig.receive()
    rig.finish()
    assert sorted(rig.sqs_api.handles("DeleteMessageBatch")) == ["handle-1", "handle-2", "handle-3"]
    assert rig.work.depth() == 0


def test_an_event_whose_routing_aws_failed_stays_in_flight_and_is_routed_again(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, Runs())
    policy_event = (EVENTS / "iam-CreatePolicyVersion.json").read_text()
    rig.sqs_api.failing = "ListEntitiesForPolicy"  # IAM fails: which roles use the policy?
    rig.sqs_api.deliver("m-1", "handle-1", body=policy_event)
    rig.receive()
    assert rig.sqs_api.handles("ChangeMessageVisibility") == []  # not released towards the DLQ
    rig.sqs_clock.now += 10.0  # one beat later
    rig.queue.extend_visibility()
    assert rig.sqs_api.handles("ChangeMessageVisibilityBatch") == ["handle-1"]  # kept in flight
    deleted = threading.Event()
    for _ in range(int(WAIT / 0.05)):  # routed again after 0.5 s: no roles, so acknowledged
        if rig.queue.is_newest(Message("m-1", "handle-1", "", 1)):
            deleted.wait(0.05)
    rig.finish()
    listed = [op for op, _ in rig.sqs_api.calls if op == "ListEntitiesForPolicy"]
    assert listed == ["ListEntitiesForPolicy"] * 2
    assert rig.sqs_api.handles("DeleteMessageBatch") == ["handle-1"]


class FailingQueue:
    """A queue whose receive fails `failures` times, then answers, then fails again."""

    def __init__(self, script: list[bool], stop: threading.Event) -> None:
        self.script, self.stop = script, stop

    def receive(self) -> list[Message]:
        if not self.script:
            self.stop.set()
            return []
        if self.script.pop(0):
            return []
        raise errors.RetryableAwsError("ReceiveMessage", "ServiceUnavailable", "down", False)


class RecordedWaits(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return self.is_set()


def test_the_poll_loop_backs_off_briefly_and_resets_after_a_success() -> None:
    stop = RecordedWaits()
    answers: list[bool] = []
    queue = FailingQueue([False] * 8 + [True] + [False], stop)
    record: Callable[[bool, str], None] = lambda ok, error: answers.append(ok)  # noqa: E731
    poll_forever(queue, lambda m: None, stop, lambda: None, record)  # type: ignore[arg-type]
    assert max(stop.waits) == MAX_POLL_BACKOFF_SECONDS <= 5.0
    assert stop.waits == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 0.5]  # capped; reset by a success
    assert answers == [False] * 8 + [True, False, True]


def test_a_receive_asks_a_short_visibility_that_the_heartbeat_extends_before_it_runs_out(
    tmp_path: Path,
) -> None:
    sqs_api, clock = FakeSqs(), FakeClock()
    queue = SqsQueue(sqs_api, "https://queue", 120, receive_visibility=30, clock=clock)  # type: ignore[arg-type]
    sqs_api.deliver("m-1", "handle-1")
    queue.receive()
    # A lost reply to this receive would hide the message 30 s, not the full 120 s.
    assert sqs_api.calls[-1][1]["VisibilityTimeout"] == 30

    def extended_to() -> list[int]:
        before = len(sqs_api.calls)
        queue.extend_visibility()
        return [e["VisibilityTimeout"] for _, p in sqs_api.calls[before:] for e in p["Entries"]]

    clock.now = 9.0  # 21 s left: it outlives the next beat, and the one after that
    assert extended_to() == []
    clock.now = 10.0  # 20 s left: one failed beat later it would be gone
    assert extended_to() == [120]
    clock.now = 109.0  # 21 s left of the 120 s
    assert extended_to() == []
    clock.now = 110.0  # 20 s left
    assert extended_to() == [120]
    queue.delete(Message("m-1", "handle-1", "", 1))
    clock.now = 1000.0
    assert extended_to() == []  # acknowledged: no longer kept
