"""CloudTrail events reach the queue as AWS delivers them, when asked: only if the queue policy
admits the rule (the shipped config/iam/queue-policy.json does), late on the sandbox clock, twice,
out of order; and IAM reads lag behind writes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import Sandbox
from sandbox.testing import (
    advance_clock,
    control,
    delay_delivery,
    execution_role,
    receive_envelopes,
)

Aws = Callable[..., Any]
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "iam" / "queue-policy.json"
ROLE = "flink-execution"


def change_role(aws: Aws, n: int = 1) -> None:
    """n watched IAM calls (PutRolePolicy), each a CloudTrail event for the queue."""
    iam = aws("iam")
    execution_role(iam)
    for i in range(n):
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": f"logs:Get{i}", "Resource": "*"}],
        }
        iam.put_role_policy(RoleName=ROLE, PolicyName=f"p{i}", PolicyDocument=json.dumps(document))


def set_queue_policy(aws: Aws, sandbox: Sandbox, document: dict[str, Any]) -> None:
    aws("sqs").set_queue_attributes(
        QueueUrl=sandbox.queue_url, Attributes={"Policy": json.dumps(document)}
    )


def names(envelopes: list[dict[str, Any]]) -> list[str]:
    return [e["detail"]["requestParameters"]["policyName"] for e in envelopes]


def test_the_shipped_queue_policy_admits_the_rules(fresh_sandbox: Sandbox, aws: Aws) -> None:
    shipped = json.loads(SHIPPED.read_text())
    assert fresh_sandbox.region in shipped["Statement"][0]["Resource"]  # written for eu-west-1
    set_queue_policy(aws, fresh_sandbox, shipped)
    change_role(aws)
    assert names(receive_envelopes(aws("sqs"), fresh_sandbox.queue_url)) == ["p0"]


def test_a_queue_policy_deny_or_missing_allow_stops_delivery(
    fresh_sandbox: Sandbox, aws: Aws
) -> None:
    shipped = json.loads(SHIPPED.read_text())
    deny_events = {
        "Effect": "Deny",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": "*",
    }
    set_queue_policy(
        aws, fresh_sandbox, {**shipped, "Statement": [*shipped["Statement"], deny_events]}
    )
    change_role(aws)
    assert receive_envelopes(aws("sqs"), fresh_sandbox.queue_url) == []
    emitted = [c.emitted for c in fresh_sandbox.calls() if c.operation == "PutRolePolicy"]
    assert emitted == [False]
    # Only another account's rules allowed: no Allow for ours.
    other = json.loads(SHIPPED.read_text().replace("123456789012:rule", "999999999999:rule"))
    set_queue_policy(aws, fresh_sandbox, other)
    change_role(aws)
    assert receive_envelopes(aws("sqs"), fresh_sandbox.queue_url) == []


def arrived(aws: Aws, sandbox: Sandbox, expect: int) -> list[dict[str, Any]]:
    """What reached the queue once the sandbox's delivery thread (50 ms ticks) caught up."""
    return receive_envelopes(aws("sqs"), sandbox.queue_url, wait_seconds=3, expect=expect)


def test_a_delivery_delay_runs_on_the_sandbox_clock(fresh_sandbox: Sandbox, aws: Aws) -> None:
    info = delay_delivery(fresh_sandbox.endpoint_url, delay_seconds=60)
    assert info["delivery"]["delay_seconds"] == 60
    change_role(aws)
    time.sleep(0.3)  # a few delivery ticks: nothing is due yet
    assert receive_envelopes(aws("sqs"), fresh_sandbox.queue_url) == []
    assert [c.emitted for c in fresh_sandbox.calls() if c.operation == "PutRolePolicy"] == [True]
    advance_clock(fresh_sandbox.endpoint_url, 59)
    time.sleep(0.3)
    assert receive_envelopes(aws("sqs"), fresh_sandbox.queue_url) == []
    advance_clock(fresh_sandbox.endpoint_url, 1)
    assert names(arrived(aws, fresh_sandbox, 1)) == ["p0"]
    fresh_sandbox.reset()  # back to immediate delivery
    change_role(aws)
    assert names(receive_envelopes(aws("sqs"), fresh_sandbox.queue_url)) == ["p0"]


def test_duplicates_carry_the_same_event_id(fresh_sandbox: Sandbox, aws: Aws) -> None:
    delay_delivery(fresh_sandbox.endpoint_url, duplicate_probability=1, seed=3)
    change_role(aws, 2)
    envelopes = arrived(aws, fresh_sandbox, 4)
    ids = sorted(e["detail"]["eventID"] for e in envelopes)
    assert len(ids) == 4 and ids[0] == ids[1] and ids[2] == ids[3] and ids[1] != ids[2]


def test_jitter_reorders_events_repeatably(fresh_sandbox: Sandbox, aws: Aws) -> None:
    def run() -> list[str]:
        fresh_sandbox.reset()
        delay_delivery(fresh_sandbox.endpoint_url, jitter_seconds=1000, seed=7)
        change_role(aws, 6)
        advance_clock(fresh_sandbox.endpoint_url, 1000)
        return names(arrived(aws, fresh_sandbox, 6))

    first = run()
    assert sorted(first) == [f"p{i}" for i in range(6)]
    assert first != sorted(first)  # not in call order
    assert run() == first  # the same seed, the same order


def test_bad_delivery_settings_are_refused_in_one_line(fresh_sandbox: Sandbox) -> None:
    for settings in ({"delay_seconds": -1}, {"duplicate_probability": 2}, {"speed": 1}):
        with pytest.raises(RuntimeError) as raised:
            control(fresh_sandbox.endpoint_url, "/_sandbox/config", delivery=settings)
        assert "400" in str(raised.value) and "\n" not in str(raised.value)


def test_iam_reads_lag_behind_a_role_change(fresh_sandbox: Sandbox, aws: Aws) -> None:
    control(fresh_sandbox.endpoint_url, "/_sandbox/config", iam_read_lag_seconds=30)
    change_role(aws)
    iam = aws("iam")

    def read() -> str:
        document = iam.get_role_policy(RoleName=ROLE, PolicyName="p0")["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        return "Get0" if "Get0" in text else "Put"

    assert read() == "Get0"
    put = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:Put", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName=ROLE, PolicyName="p0", PolicyDocument=json.dumps(put))
    assert read() == "Get0"  # the previous state, within the lag
    advance_clock(fresh_sandbox.endpoint_url, 30)
    assert read() == "Put"
