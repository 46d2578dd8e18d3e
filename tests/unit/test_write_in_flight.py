"""A write another replica is sending is not an orphan (issue 26): the reconcile of its app
waits while that replica may still be recording the reply, then adopts the write only if it
is still unsettled; and however late the sender's reply, the write's outcome is recorded once.
Two Safeguards share one MemoryStore on one injected wall clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import boto3
import pytest
from structlog.testing import capture_logs

from daemon.aws import Aws
from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.safeguards import Safeguards
from daemon.reconcile.safeguards._ledger import LIVE_SENDER_SECONDS
from daemon.state import Action, AppRef, Call, Cause, Mode
from daemon.store.memory import MemoryStore
from remediations import snapshots
from remediations.base import AnyRule, RuleSettings
from sandbox.server import Sandbox
from sandbox.testing import execution_role
from tests.clock import FakeWall
from tests.conftest import AwsFactory
from tests.factories import APP


def _action() -> Action:
    call = Call("kinesisanalyticsv2", "UpdateApplication", {"x": 1}, versioned=True)
    return Action(APP, ("snapshots",), "enforce", (), (call,))


def test_a_young_write_of_another_replica_is_waited_for_then_orphaned() -> None:
    clock = FakeWall()
    store = MemoryStore(clock)
    sender, other = Safeguards(clock, store=store), Safeguards(clock, store=store)
    sender.record_write(_action(), Cause("sweep"), 3)
    other.load(APP)  # first thing in every reconcile
    (write,) = other.orphaned_writes(APP)
    clock.now += 5
    assert 0 < other.write_settling_for(write) <= 15  # the sender may be recording it now
    clock.now += 20
    assert other.write_settling_for(write) == 0  # still unsettled: its sender died


def test_a_settled_write_is_nobodys_orphan() -> None:
    clock = FakeWall()
    store = MemoryStore(clock)
    sender, other = Safeguards(clock, store=store), Safeguards(clock, store=store)
    action = _action()
    write_id = sender.record_write(action, Cause("sweep"), 3)
    assert sender.orphaned_writes(APP) == ()  # its own write in flight
    sender.record_sent(action, write_id, ("req-1",), None, 4)
    clock.now += 30
    other.load(APP)
    assert other.orphaned_writes(APP) == ()


class LateReply:
    """The daemon's gateway with a reply that reaches its sender late: after the AWS write is
    made, the sender's clock moves past LIVE_SENDER_SECONDS and `meanwhile` (the other replica's
    reconcile) runs before the reply is handed back."""

    def __init__(self, aws: Aws, clock: FakeWall, meanwhile: Callable[[], object]) -> None:
        self._aws, self._clock, self._meanwhile = aws, clock, meanwhile

    def observed_call(
        self, observer: Any, service: str, operation: str, **params: Any
    ) -> Mapping[str, Any]:
        reply = self._aws.observed_call(observer, service, operation, **params)
        if operation == "UpdateApplication":
            self._clock.now += LIVE_SENDER_SECONDS + 5
            self._meanwhile()
        return reply

    def __getattr__(self, name: str) -> Any:
        return getattr(self._aws, name)


def test_a_write_whose_reply_came_late_is_recorded_applied_once_across_replicas(
    fresh_sandbox: Sandbox, aws: AwsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender's reply takes longer than LIVE_SENDER_SECONDS: the other replica takes the
    write over as an orphan, confirms it (operation SUCCESSFUL, state re-read) and records it.
    The sender then gets its reply: one of the two records the outcome, never both."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    role = execution_role(aws("iam"))
    flink = aws("kinesisanalyticsv2")
    flink.create_application(
        ApplicationName="orders", RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=role
    )
    app = AppRef(fresh_sandbox.account_id, fresh_sandbox.region, "orders")
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=app.region
    )
    gateway = Aws(app.region, session=session, max_backoff_seconds=0.2)
    clock = FakeWall()
    store = MemoryStore(clock)  # the replicas' one state table
    rules: list[tuple[AnyRule, RuleSettings, Mode]] = [
        (snapshots.Snapshots(), snapshots.Settings(), "enforce")
    ]
    other = Reconciler(
        lambda _: gateway, lambda _a, _t: rules, safeguards=Safeguards(clock, store=store)
    )
    late = LateReply(gateway, clock, lambda: other.reconcile(app, Cause("sweep")))
    sender = Reconciler(
        lambda _: cast(Aws, late), lambda _a, _t: rules, safeguards=Safeguards(clock, store=store)
    )
    with capture_logs() as logs:
        sender.reconcile(app, Cause("sweep"))
    detail = flink.describe_application(ApplicationName="orders")["ApplicationDetail"]
    assert detail["ApplicationVersionId"] == 2  # the one write, made once
    adopted = [r for r in logs if r["event"] == "write_adopted"]
    assert len(adopted) == 1  # the other replica took the write over (the reply was late)
    applied = [r for r in logs if r["event"] == "remediation_applied"]
    assert len(applied) == 1, applied
    assert applied[0]["confirmed"] == "state re-read"  # recorded by the replica that adopted it
