"""The event parser on realistic CloudTrail events: targets, identities, and every ignore reason."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from daemon.errors import EventError
from daemon.ingest.events import SOURCES, Hint, parse, source_of
from daemon.telemetry.metrics import IGNORE_REASONS

EVENTS = Path(__file__).parent / "events"
ACCOUNT = "123456789012"
ACCOUNTS = frozenset({ACCOUNT})
REGIONS = frozenset({"eu-west-1", "eu-central-1"})
APP = ("orders-enrichment",)
ROLE = ("flink-orders-enrichment",)
RTB = ("rtb-0c1d2e3f4a5b6c7d8",)
VPC = ("vpc-0fedcba9876543210",)
ASSOC = ("rtbassoc-0123abcd4567ef890",)
CUSTOMER_POLICY = ("arn:aws:iam::123456789012:policy/flink/orders-logging",)

# Every sample file and exactly the targets the parser must read from it.
EXPECTED: dict[str, dict[str, tuple[str, ...]]] = {
    **{
        f"kinesisanalytics-{name}": {"app_names": APP}
        for name in (
            "CreateApplication",
            "DeleteApplication",
            "UpdateApplication",
            "AddApplicationCloudWatchLoggingOption",
            "DeleteApplicationCloudWatchLoggingOption",
            "AddApplicationVpcConfiguration",
            "DeleteApplicationVpcConfiguration",
            "StartApplication",
            "StopApplication",
            "TagResource",
            "UntagResource",
        )
    },
    **{
        f"iam-{name}": {"role_names": ROLE}
        for name in (
            "PutRolePolicy",
            "DeleteRolePolicy",
            "UpdateAssumeRolePolicy",
            "PutRolePermissionsBoundary",
            "DeleteRolePermissionsBoundary",
        )
    },
    "iam-AttachRolePolicy": {
        "role_names": ROLE,
        "policy_arns": ("arn:aws:iam::aws:policy/AmazonS3FullAccess",),
    },
    "iam-DetachRolePolicy": {"role_names": ROLE, "policy_arns": CUSTOMER_POLICY},
    "iam-CreatePolicyVersion": {"policy_arns": CUSTOMER_POLICY},
    "iam-SetDefaultPolicyVersion": {"policy_arns": CUSTOMER_POLICY},
    "ec2-CreateRoute": {"route_table_ids": RTB},
    "ec2-ReplaceRoute": {"route_table_ids": RTB},
    "ec2-DeleteRoute": {"route_table_ids": RTB},
    "ec2-DeleteRouteTable": {"route_table_ids": RTB},
    "ec2-CreateRouteTable": {"route_table_ids": RTB, "vpc_ids": VPC},
    "ec2-AssociateRouteTable": {
        "route_table_ids": RTB,
        "subnet_ids": ("subnet-0a1b2c3d4e5f60718",),
        "association_ids": ASSOC,
    },
    "ec2-DisassociateRouteTable": {"association_ids": ASSOC},
    "ec2-ReplaceRouteTableAssociation": {
        "route_table_ids": RTB,
        "association_ids": ("rtbassoc-0123abcd4567ef890", "rtbassoc-0fedc987654321ba0"),
    },
    "ec2-DetachInternetGateway": {
        "internet_gateway_ids": ("igw-0abc1234def567890",),
        "vpc_ids": VPC,
    },
}
EVENT_NAMES = frozenset(name.split("-", 1)[1] for name in EXPECTED)
TARGET_FIELDS = (
    "app_names",
    "role_names",
    "policy_arns",
    "route_table_ids",
    "subnet_ids",
    "vpc_ids",
    "association_ids",
    "internet_gateway_ids",
)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


def run(event: Any, **overrides: Any) -> Hint:
    options: dict[str, Any] = {
        "accounts": ACCOUNTS,
        "regions": REGIONS,
        "event_names": EVENT_NAMES,
        **overrides,
    }
    return parse(event if isinstance(event, str | bytes) else json.dumps(event), **options)


def reason_of(event: Any, **overrides: Any) -> str:
    with pytest.raises(EventError) as caught:
        run(event, **overrides)
    assert caught.value.reason in IGNORE_REASONS
    return caught.value.reason


def test_every_sample_file_has_an_expectation() -> None:
    assert sorted(p.stem for p in EVENTS.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_event_targets(name: str) -> None:
    event = load(name)
    hint = run(event)
    detail = event["detail"]
    assert hint.event_id == detail["eventID"]
    assert hint.event_name == detail["eventName"]
    assert hint.source == event["source"] == SOURCES[detail["eventSource"]]
    assert hint.account == ACCOUNT
    assert hint.region == detail["awsRegion"]
    assert hint.event_time == datetime.fromisoformat(detail["eventTime"])
    assert hint.event_time is not None and hint.event_time.tzinfo == UTC
    assert hint.actor == detail["userIdentity"]["arn"]
    assert hint.actor_type == detail["userIdentity"]["type"]
    found = {field: getattr(hint, field) for field in TARGET_FIELDS if getattr(hint, field)}
    assert found == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bare_cloudtrail_record_gives_the_same_hint_to_replay_only(name: str) -> None:
    event = load(name)
    assert run(event["detail"], bare_records=True) == run(event)
    assert run(json.dumps(event).encode()) == run(event)
    assert reason_of(event["detail"]) == "bare_record"  # the daemon's queue: envelopes only


def test_assumed_role_actor_keeps_the_issuer_role_with_its_path() -> None:
    hint = run(load("kinesisanalytics-CreateApplication"))
    assert hint.actor_type == "AssumedRole"
    assert hint.actor.startswith("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_")
    assert hint.actor_issuer_arn.startswith(
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
    )
    assert run(load("kinesisanalytics-DeleteApplication")).actor_issuer_arn == ""  # IAM user


def test_iam_events_pass_the_region_check_whatever_regions_are_configured() -> None:
    event = load("iam-PutRolePolicy")
    assert event["detail"]["awsRegion"] == "us-east-1"
    hint = run(event, regions=frozenset({"ap-southeast-2"}))
    assert hint.is_global and hint.region == "us-east-1"
    # EC2 is regional: the same check drops it.
    assert reason_of(load("ec2-CreateRoute"), regions=frozenset({"ap-southeast-2"})) == (
        "region_not_configured"
    )


def test_the_account_is_the_envelopes_and_a_disagreeing_record_is_rejected() -> None:
    event = load("ec2-CreateRoute")
    event["region"] = "us-west-2"
    hint = run(event)
    assert (hint.account, hint.region) == (ACCOUNT, "eu-west-1")  # region: the record's first
    # A member account's real event on the central bus: the envelope names the member; a
    # message claiming another account in its detail was written by hand.
    event["account"] = "999999999999"
    assert reason_of(event, accounts=ACCOUNTS | {"999999999999"}) == "account_mismatch"
    event["detail"]["recipientAccountId"] = 999999999999  # not even a string
    assert reason_of(event, accounts=ACCOUNTS | {"999999999999"}) == "account_mismatch"
    del event["detail"]["recipientAccountId"], event["detail"]["awsRegion"]
    event["account"], event["region"] = ACCOUNT, "eu-central-1"
    assert (run(event).account, run(event).region) == (ACCOUNT, "eu-central-1")


def test_an_envelope_whose_source_is_not_its_records_is_rejected() -> None:
    # An IAM record dressed as an EC2 event, and an envelope with no source at all.
    event = load("iam-PutRolePolicy")
    event["source"] = "aws.ec2"
    assert reason_of(event) == "source_mismatch"
    del event["source"]
    assert reason_of(event) == "source_mismatch"
    assert source_of(json.dumps(event)) == "other"


def test_tag_resource_by_arn_in_another_partition() -> None:
    event = load("kinesisanalytics-TagResource")
    event["detail"]["requestParameters"]["resourceARN"] = (
        "arn:aws-cn:kinesisanalytics:cn-north-1:123456789012:application/cn-app"
    )
    assert run(event).app_names == ("cn-app",)


def test_event_time_missing_or_broken_is_none_not_a_rejection() -> None:
    event = load("kinesisanalytics-UpdateApplication")
    event["detail"]["eventTime"] = "yesterday"
    event["time"] = "2024-11-05T10:00:00+02:00"  # the envelope's time is the fallback
    assert run(event).event_time == datetime(2024, 11, 5, 8, 0, tzinfo=UTC)
    event["time"] = 17
    assert run(event).event_time is None
    event["detail"]["eventTime"] = "2024-11-05T09:00:00"  # naive: CloudTrail times are UTC
    assert run(event).event_time == datetime(2024, 11, 5, 9, 0, tzinfo=UTC)


def test_junk_identifiers_are_dropped() -> None:
    event = load("ec2-AssociateRouteTable")
    event["detail"]["requestParameters"] = {"routeTableId": "rtb-1; rm -rf /", "subnetId": 7}
    event["detail"]["responseElements"]["associationId"] = "igw-123"  # wrong kind of id
    assert reason_of(event) == "unknown_shape"


def mutated(name: str, change: Any) -> dict[str, Any]:
    event = copy.deepcopy(load(name))
    change(event)
    return event


CASES: list[tuple[str, Any]] = [
    ("not_json", "{not json"),
    ("not_json", b"\xff\xfe\x00garbage"),
    ("not_json", ""),
    ("unknown_shape", "[1, 2]"),
    ("unknown_shape", '"a string"'),
    ("unknown_shape", {"Records": [load("ec2-CreateRoute")["detail"]]}),
    ("bare_record", load("ec2-CreateRoute")["detail"]),
    ("source_mismatch", mutated("ec2-CreateRoute", lambda e: e.update(source="aws.iam"))),
    (
        "account_mismatch",
        mutated("ec2-CreateRoute", lambda e: e["detail"].update(recipientAccountId="210987654321")),
    ),
    ("unknown_shape", mutated("ec2-CreateRoute", lambda e: e.update({"detail-type": "x"}))),
    ("unknown_shape", mutated("ec2-CreateRoute", lambda e: e.update(detail="text"))),
    ("unknown_shape", mutated("ec2-CreateRoute", lambda e: e["detail"].pop("eventID"))),
    (
        "unknown_shape",
        mutated(
            "ec2-CreateRoute", lambda e: (e["detail"].pop("recipientAccountId"), e.pop("account"))
        ),
    ),
    (
        "unknown_shape",
        mutated("ec2-CreateRoute", lambda e: e["detail"].update(requestParameters=None)),
    ),
    (
        "unknown_shape",
        mutated(
            "iam-PutRolePolicy", lambda e: e["detail"].update(requestParameters={"roleName": ["a"]})
        ),
    ),
    (
        "other_service",
        mutated(
            "ec2-CreateRoute",
            lambda e: (
                e.update(source="aws.s3")
                or e["detail"].update(eventSource="s3.amazonaws.com", eventName="PutBucketPolicy")
            ),
        ),
    ),
    (
        "irrelevant_event",
        mutated("ec2-CreateRoute", lambda e: e["detail"].update(eventName="RunInstances")),
    ),
    ("irrelevant_event", mutated("ec2-CreateRoute", lambda e: e["detail"].update(eventName=None))),
    (
        "read_only",
        mutated(
            "kinesisanalytics-UpdateApplication",
            lambda e: e["detail"].update(eventName="UpdateApplication", readOnly=True),
        ),
    ),
    (
        "failed_call",
        mutated(
            "kinesisanalytics-UpdateApplication",
            lambda e: e["detail"].update(
                errorCode="ConcurrentModificationException", errorMessage="stale version"
            ),
        ),
    ),
    (
        "account_not_configured",
        mutated(
            "ec2-CreateRoute",
            lambda e: (
                e.update(account="210987654321"),
                e["detail"].update(recipientAccountId="210987654321"),
            ),
        ),
    ),
    (
        "region_not_configured",
        mutated(
            "kinesisanalytics-StopApplication", lambda e: e["detail"].update(awsRegion="us-west-2")
        ),
    ),
]


@pytest.mark.parametrize(("reason", "event"), CASES)
def test_ignore_reasons(reason: str, event: Any) -> None:
    assert reason_of(event) == reason


def test_every_reason_parse_can_give_is_covered() -> None:
    # own_identity, duplicate and no_application are decided later, by the daemon; the
    # senders (sent_by_daemon, sweep_work_not_own) by the consumer from SQS's SenderId.
    later = {"own_identity", "duplicate", "no_application", "sent_by_daemon", "sweep_work_not_own"}
    parse_reasons = set(IGNORE_REASONS) - later
    assert {reason for reason, _ in CASES} == parse_reasons


def test_event_names_come_from_the_enabled_rules() -> None:
    event = load("kinesisanalytics-TagResource")
    assert reason_of(event, event_names=frozenset({"UpdateApplication"})) == "irrelevant_event"
    assert run(event, event_names=frozenset({"TagResource"})).app_names == APP


def test_empty_configuration_accepts_nothing() -> None:
    assert reason_of(load("ec2-CreateRoute"), accounts=frozenset()) == "account_not_configured"


def test_source_of_any_body() -> None:
    for name in EXPECTED:
        event = load(name)
        assert source_of(json.dumps(event)) == event["source"]
        assert source_of(json.dumps(event["detail"])) == event["source"]
    s3 = mutated("ec2-CreateRoute", lambda e: e["detail"].update(eventSource="s3.amazonaws.com"))
    for body in ("{not json", "[]", json.dumps(s3), json.dumps({"detail-type": "x"})):
        assert source_of(body) == "other"
