"""Property tests: parse() never raises anything but EventError, whatever the message holds."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.errors import EventError
from daemon.ingest.events import Hint, parse, source_of
from daemon.telemetry.metrics import EVENT_SOURCES, IGNORE_REASONS

EVENTS = Path(__file__).parent / "events"
SAMPLES = [json.loads(p.read_text()) for p in sorted(EVENTS.glob("*.json"))]
ACCOUNTS = frozenset({"123456789012"})
REGIONS = frozenset({"eu-west-1"})
NAMES = frozenset(s["detail"]["eventName"] for s in SAMPLES)

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
# Keys the parser reads, so generated objects hit its paths instead of missing them all.
known_keys = st.sampled_from(
    [
        "detail",
        "detail-type",
        "source",
        "account",
        "region",
        "time",
        "eventSource",
        "eventName",
        "eventID",
        "eventTime",
        "awsRegion",
        "recipientAccountId",
        "readOnly",
        "errorCode",
        "userIdentity",
        "sessionContext",
        "sessionIssuer",
        "arn",
        "type",
        "requestParameters",
        "responseElements",
        "applicationName",
        "resourceARN",
        "applicationDetail",
        "applicationARN",
        "roleName",
        "policyArn",
        "routeTableId",
        "subnetId",
        "vpcId",
        "associationId",
        "newAssociationId",
        "internetGatewayId",
        "routeTable",
    ]
)
shaped_values = st.recursive(
    scalars
    | st.sampled_from(
        [
            "AWS API Call via CloudTrail",
            "ec2.amazonaws.com",
            "iam.amazonaws.com",
            "CreateRoute",
            "123456789012",
            "eu-west-1",
        ]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(known_keys, inner, max_size=6),
    max_leaves=40,
)


def check(body: str | bytes) -> None:
    assert source_of(body) in EVENT_SOURCES
    try:
        hint = parse(body, accounts=ACCOUNTS, regions=REGIONS, event_names=NAMES)
    except EventError as error:
        assert error.reason in IGNORE_REASONS
        return
    assert isinstance(hint, Hint)
    assert hint.account in ACCOUNTS and hint.event_name in NAMES and hint.targets
    assert all(isinstance(t, str) and t for t in hint.targets)


@given(st.binary(max_size=300))
def test_any_bytes(body: bytes) -> None:
    check(body)


@given(st.text(max_size=300))
def test_any_text(body: str) -> None:
    check(body)


@given(json_values)
def test_any_json(value: Any) -> None:
    check(json.dumps(value))


@given(shaped_values)
def test_json_built_from_the_keys_the_parser_reads(value: Any) -> None:
    check(json.dumps(value))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_real_events_with_any_part_replaced(data: st.DataObject) -> None:
    event = copy.deepcopy(data.draw(st.sampled_from(SAMPLES)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(event)))
        replacement = data.draw(json_values)
        if not path:
            event = replacement
            continue
        parent = event
        try:
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = replacement
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this path
    check(json.dumps(event))


def test_deep_nesting() -> None:
    for depth in (10, 1_000, 100_000):
        check("[" * depth + "]" * depth)
        check('{"a":' * depth + "1" + "}" * depth)
    event = copy.deepcopy(SAMPLES[0])
    nested: Any = "x"
    for _ in range(900):
        nested = {"applicationName": nested}
    event["detail"]["requestParameters"] = nested
    check(json.dumps(event))


def test_huge_numbers_and_odd_constants() -> None:
    for body in ("1" * 10_000, "NaN", "-Infinity", '{"detail": 1e999}', "\ud800", b"\x00" * 8):
        check(body)
