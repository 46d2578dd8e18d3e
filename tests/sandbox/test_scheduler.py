"""The sandbox fires EventBridge Scheduler schedules (moto only stores them) on its clock:
a rate schedule's Input reaches its SQS target once per period, not before; a DISABLED one
never; a flexible window delays an invocation within the window."""

from __future__ import annotations

import json
from typing import Any

from sandbox.eventbridge import SCHEDULER_ROLE
from sandbox.scheduler import create_sweep_schedules, period_seconds
from sandbox.server import Sandbox
from sandbox.testing import client


def _receive(sandbox: Sandbox) -> list[Any]:
    """The ticks on the queue (the role's CloudTrail events are there too: left out)."""
    sqs = client(sandbox.endpoint_url, sandbox.region, "sqs")
    got = sqs.receive_message(QueueUrl=sandbox.queue_url, MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in got.get("Messages", [])]
    return [b for b in bodies if "flink_remediator" in b]


def _queue_arn(sandbox: Sandbox) -> str:
    name = sandbox.queue_url.rsplit("/", 1)[-1]
    return f"arn:aws:sqs:{sandbox.region}:{sandbox.account_id}:{name}"


def test_rate_expressions() -> None:
    assert period_seconds("rate(1 minute)") == 60
    assert period_seconds("rate(15 minutes)") == 900
    assert period_seconds("rate(2 hours)") == 7200
    assert period_seconds("cron(0 * * * ? *)") is None


def test_a_rate_schedule_sends_its_input_once_per_period(fresh_sandbox: Sandbox) -> None:
    sandbox = fresh_sandbox

    def make(service: str) -> Any:
        return client(sandbox.endpoint_url, sandbox.region, service)

    place = (sandbox.account_id, sandbox.region)
    create_sweep_schedules(make, _queue_arn(sandbox), [place], 15)
    schedules = sandbox.middleware.schedules
    assert schedules.pump() == 0  # created now: due one period later
    sandbox.advance_clock(14 * 60)
    assert schedules.pump() == 0 and _receive(sandbox) == []
    sandbox.advance_clock(60)
    assert schedules.pump() == 1
    assert _receive(sandbox) == [
        {"flink_remediator": "sweep_tick", "version": 1, "account": place[0], "region": place[1]}
    ]
    sandbox.advance_clock(3 * 15 * 60)  # missed invocations are each delivered
    assert schedules.pump() == 3


def test_a_disabled_schedule_never_runs_and_a_flexible_one_runs_within_its_window(
    fresh_sandbox: Sandbox,
) -> None:
    sandbox = fresh_sandbox
    scheduler = client(sandbox.endpoint_url, sandbox.region, "scheduler")
    role = f"arn:aws:iam::{sandbox.account_id}:role/{SCHEDULER_ROLE}"
    target = {"Arn": _queue_arn(sandbox), "RoleArn": role, "Input": "{}"}
    scheduler.create_schedule(
        Name="off",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=target,
        State="DISABLED",
    )
    scheduler.create_schedule(
        Name="flexible",
        ScheduleExpression="rate(10 minutes)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5},
        Target=target,
    )
    schedules = sandbox.middleware.schedules
    schedules.pump()
    sandbox.advance_clock(15 * 60)  # the first invocation is due within 10..15 minutes
    assert schedules.pump() == 1
    fired = schedules.fired()
    assert list(fired) == [
        f"arn:aws:scheduler:{sandbox.region}:{sandbox.account_id}:schedule/default/flexible"
    ]
