"""Sweep messages (daemon/ingest/sweep_messages.py): versioned, validated like events; a body
that is not one goes on to the event parser; the sandbox's schedules send exactly this tick."""

from __future__ import annotations

import json

import pytest

from daemon.ingest import sweep_messages
from daemon.ingest.sweep_messages import SweepMessageError, SweepWork, Tick, parse, work_bodies
from sandbox.scheduler import sweep_tick_input

ACCOUNT, REGION = "123456789012", "eu-west-1"


def test_a_tick_round_trips_and_the_sandbox_sends_the_same_tick() -> None:
    assert parse(sweep_messages.tick_body(ACCOUNT, REGION)) == Tick(ACCOUNT, REGION)
    assert json.loads(sweep_tick_input(ACCOUNT, REGION)) == json.loads(
        sweep_messages.tick_body(ACCOUNT, REGION)
    )


def test_work_is_fanned_out_ten_apps_a_message() -> None:
    names = tuple(f"app-{i}" for i in range(25))
    bodies = list(work_bodies(SweepWork(ACCOUNT, REGION, names, "tick-1")))
    parsed = [parse(b) for b in bodies]
    assert [len(p.apps) for p in parsed if isinstance(p, SweepWork)] == [10, 10, 5]
    assert tuple(n for p in parsed if isinstance(p, SweepWork) for n in p.apps) == names


@pytest.mark.parametrize(
    "body", ["not json", "[1]", json.dumps({"detail-type": "AWS API Call via CloudTrail"})]
)
def test_anything_else_is_left_to_the_event_parser(body: str) -> None:
    assert parse(body) is None


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"flink_remediator": "sweep_everything"}, "unknown sweep message kind"),
        ({"version": 2}, "version"),
        ({"account": "12345"}, "valid account"),
        ({"region": "Mars"}, "valid region"),
        ({"apps": []}, "1..10 apps"),
        ({"apps": [f"a{i}" for i in range(11)]}, "1..10 apps"),
        ({"apps": ["ok", "bad name!"]}, "invalid application"),
        ({"sweep": "x" * 500}, "invalid sweep id"),
    ],
)
def test_a_malformed_sweep_message_says_what_is_wrong(
    changes: dict[str, object], words: str
) -> None:
    body = {"flink_remediator": "sweep_work", "version": 1, "account": ACCOUNT}
    body |= {"region": REGION, "apps": ["app-1"], "sweep": "t"} | changes
    with pytest.raises(SweepMessageError, match=words) as raised:
        parse(json.dumps(body))
    assert raised.value.reason == "malformed_sweep_message"
