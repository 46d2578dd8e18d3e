"""The pure event parser: one SQS message body in, one `Hint` (or an `EventError`) out.

The daemon's queue takes only EventBridge "AWS API Call via CloudTrail" envelopes; a bare CloudTrail
record (as in `{"Records": [...]}` log files) is accepted only with `bare_records=True` (`replay`).
The event is only a hint: it names what may have changed (apps, roles, policies, route tables
...); the daemon re-reads the real state before doing anything.

Every failure is an `EventError` whose reason is a `metrics.IgnoreReason`, checked in this order:
not_json, unknown_shape, bare_record, other_service, source_mismatch, irrelevant_event, read_only,
failed_call, account_mismatch, account_not_configured, region_not_configured, and unknown_shape
again when a relevant event names no target we can read. Decisions:
- Trust the envelope, not the detail. EventBridge writes `source` and `account` itself: custom
  events (PutEvents) cannot use an `aws.` source, and a forwarded event keeps the account it
  happened in (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html,
  https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-kinesisanalytics.html), while
  `detail` is whatever the record says. So the account is the envelope's `account`; a
  `detail.recipientAccountId` that names another account, or a `source` that is not the one
  the detail's eventSource is delivered under (as the rules' event patterns say), rejects the
  event: someone wrote that message by hand. Evidence (`drift_by`) comes from the event, so a
  forged one must not get that far.
- eventID is required (dedupe needs it); eventTime is not: `event_time` is None when missing or
  unparsable, because a change hint with a broken timestamp is still worth a reconcile.
- IAM is global: its events are recorded in us-east-1 whatever region uses the role, so the region
  check is skipped for them (`Hint.is_global`); the daemon looks the role up in every region.
- Identifiers are kept only when they look like AWS identifiers, so junk never reaches logs or the
  inventory look-ups.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from daemon.errors import EventError
from daemon.telemetry.metrics import IgnoreReason

DETAIL_TYPE = "AWS API Call via CloudTrail"
# CloudTrail eventSource -> EventBridge source.
SOURCES: dict[str, str] = {
    "kinesisanalytics.amazonaws.com": "aws.kinesisanalytics",
    "iam.amazonaws.com": "aws.iam",
    "ec2.amazonaws.com": "aws.ec2",
}
GLOBAL_SOURCES = frozenset({"aws.iam"})

_APP_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_APP_ARN = re.compile(r"arn:aws[a-z-]*:kinesisanalytics:[a-z0-9-]+:\d{12}:application/([^/]+)")
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]{1,512}")
_EC2_ID = {
    prefix: re.compile(rf"{prefix}-[0-9a-zA-Z]{{1,32}}")
    for prefix in ("rtb", "subnet", "vpc", "rtbassoc", "igw", "nat", "pl", "acl")
}
_ACCOUNT = re.compile(r"\d{12}")
_MAX_TEXT = 2048  # longer strings in identity fields are cut, not trusted


@dataclass(frozen=True)
class Hint:
    """What one relevant, successful, mutating API call points at. Targets are sorted tuples."""

    event_id: str
    event_name: str
    source: str  # EventBridge source: aws.kinesisanalytics | aws.iam | aws.ec2
    account: str
    region: str  # the event's awsRegion (us-east-1 for IAM, see `is_global`)
    event_time: datetime | None  # UTC; None when missing or unparsable
    actor: str  # userIdentity.arn ("" for some AWS service principals)
    actor_type: str  # userIdentity.type: IAMUser, AssumedRole, Root, AWSService, ...
    actor_issuer_arn: str = ""  # AssumedRole: the role's ARN (with its path)
    app_names: tuple[str, ...] = ()
    role_names: tuple[str, ...] = ()
    policy_arns: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    vpc_ids: tuple[str, ...] = ()
    association_ids: tuple[str, ...] = ()
    internet_gateway_ids: tuple[str, ...] = ()
    nat_gateway_ids: tuple[str, ...] = ()
    prefix_list_ids: tuple[str, ...] = ()
    network_acl_ids: tuple[str, ...] = ()

    @property
    def is_global(self) -> bool:
        """True for global services (IAM): the region says nothing about the affected apps."""
        return self.source in GLOBAL_SOURCES

    @property
    def targets(self) -> tuple[str, ...]:
        return (
            *self.app_names,
            *self.role_names,
            *self.policy_arns,
            *self.route_table_ids,
            *self.subnet_ids,
            *self.vpc_ids,
            *self.association_ids,
            *self.internet_gateway_ids,
            *self.nat_gateway_ids,
            *self.prefix_list_ids,
            *self.network_acl_ids,
        )


def _fail(reason: IgnoreReason, message: str) -> EventError:
    return EventError(reason, message)


class NotCovered(EventError):
    """An event for an account or Region the config does not cover: `scope` names which
    (`region ap-southeast-2`), so the daemon can say once what to change."""

    def __init__(self, reason: IgnoreReason, event_id: str, scope: str) -> None:
        super().__init__(reason, f"event {event_id} is for {scope}")
        self.scope = scope


def _load(body: str | bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError, TypeError) as error:  # UnicodeDecodeError is a ValueError
        raise _fail("not_json", f"body is not JSON: {type(error).__name__}") from None


def _text(value: Any) -> str:
    return value[:_MAX_TEXT] if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _record(data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(envelope, CloudTrail record); the envelope is {} for a bare record."""
    if not isinstance(data, dict):
        raise _fail("unknown_shape", f"JSON {type(data).__name__}, not an object")
    if "detail" in data or "detail-type" in data:
        if data.get("detail-type") != DETAIL_TYPE or not isinstance(data.get("detail"), dict):
            raise _fail("unknown_shape", f"not an {DETAIL_TYPE!r} envelope")
        return data, data["detail"]
    if "eventSource" in data and "eventName" in data:
        return {}, data
    raise _fail("unknown_shape", "neither an EventBridge envelope nor a CloudTrail record")


def _source(envelope: dict[str, Any], record: dict[str, Any]) -> str:
    """The EventBridge source, from the detail's eventSource; an envelope must carry the same."""
    event_source = record.get("eventSource")
    if isinstance(event_source, str):
        if event_source not in SOURCES:
            raise _fail("other_service", f"eventSource {_text(event_source)[:100]!r}")
        expected = SOURCES[event_source]
        if envelope and envelope.get("source") != expected:
            claimed = _text(envelope.get("source"))[:100]
            raise _fail("source_mismatch", f"envelope source {claimed!r} carries {event_source}")
        return expected
    source = envelope.get("source")
    if isinstance(source, str) and source in SOURCES.values():
        return source
    raise _fail("unknown_shape" if source is None else "other_service", "no known event source")


def _account(envelope: dict[str, Any], record: dict[str, Any], event_id: str) -> str:
    """The envelope's `account` (EventBridge's word); a bare record's recipientAccountId."""
    recipient = record.get("recipientAccountId")
    if not envelope:
        account = _matches(_ACCOUNT, recipient)
    else:
        account = _matches(_ACCOUNT, envelope.get("account"))
        if account is not None and recipient not in (None, account):
            claimed = _text(recipient)[:32]
            raise _fail(
                "account_mismatch",
                f"event {event_id}: envelope account {account}, recipientAccountId {claimed!r}",
            )
    if account is None:
        raise _fail("unknown_shape", f"event {event_id} names no account")
    return account


def _time(*values: Any) -> datetime | None:
    for value in values:
        if not isinstance(value, str) or len(value) > 64:
            continue
        try:
            moment = datetime.fromisoformat(value)
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError):
            continue
    return None


def _matches(pattern: re.Pattern[str], value: Any) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def _collect(*found: str | None) -> tuple[str, ...]:
    return tuple(sorted({value for value in found if value}))


def _app_targets(request: dict[str, Any], response: dict[str, Any]) -> tuple[str, ...]:
    detail = _dict(response.get("applicationDetail"))
    arns = (
        request.get("resourceARN"),
        request.get("applicationARN"),
        response.get("applicationARN"),
        detail.get("applicationARN"),
    )
    from_arns = [m[1] for arn in arns if isinstance(arn, str) and (m := _APP_ARN.fullmatch(arn))]
    names = [
        _matches(_APP_NAME, v)
        for v in (request.get("applicationName"), detail.get("applicationName"))
    ]
    return _collect(*names, *(_matches(_APP_NAME, name) for name in from_arns))


def _ec2(prefix: str, *values: Any) -> tuple[str, ...]:
    return _collect(*(_matches(_EC2_ID[prefix], value) for value in values))


class _Targets(TypedDict, total=False):
    app_names: tuple[str, ...]
    role_names: tuple[str, ...]
    policy_arns: tuple[str, ...]
    route_table_ids: tuple[str, ...]
    subnet_ids: tuple[str, ...]
    vpc_ids: tuple[str, ...]
    association_ids: tuple[str, ...]
    internet_gateway_ids: tuple[str, ...]
    nat_gateway_ids: tuple[str, ...]
    prefix_list_ids: tuple[str, ...]
    network_acl_ids: tuple[str, ...]


def _targets(source: str, record: dict[str, Any]) -> _Targets:
    request = _dict(record.get("requestParameters"))
    response = _dict(record.get("responseElements"))
    if source == "aws.kinesisanalytics":
        return {"app_names": _app_targets(request, response)}
    if source == "aws.iam":
        return {
            "role_names": _collect(_matches(_ROLE_NAME, request.get("roleName"))),
            "policy_arns": _collect(_matches(_POLICY_ARN, request.get("policyArn"))),
        }
    table = _dict(response.get("routeTable"))
    # Bare, or wrapped in <Action>Response as some EC2 records are: accept both.
    nat = _dict(_dict(response.get("CreateNatGatewayResponse") or response).get("natGateway"))
    return {
        "route_table_ids": _ec2("rtb", request.get("routeTableId"), table.get("routeTableId")),
        "subnet_ids": _ec2("subnet", request.get("subnetId")),
        "vpc_ids": _ec2("vpc", request.get("vpcId"), table.get("vpcId"), nat.get("vpcId")),
        "association_ids": _ec2(
            "rtbassoc",
            request.get("associationId"),
            response.get("associationId"),
            response.get("newAssociationId"),
        ),
        "internet_gateway_ids": _ec2("igw", request.get("internetGatewayId")),
        "nat_gateway_ids": _ec2("nat", request.get("natGatewayId"), nat.get("natGatewayId")),
        "prefix_list_ids": _ec2("pl", request.get("prefixListId")),
        "network_acl_ids": _ec2("acl", request.get("networkAclId")),
    }


def _issuer_arn(issuer: dict[str, Any]) -> str:
    arn = _text(issuer.get("arn"))
    return arn if issuer.get("type") == "Role" or ":role/" in arn else ""


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _require_envelope(envelope: dict[str, Any], bare_records: bool) -> None:
    if not envelope and not bare_records:
        raise _fail(
            "bare_record",
            "a CloudTrail record without an EventBridge envelope (only `replay` reads those)",
        )


def source_of(body: str | bytes) -> str:
    """The EventBridge source of a message body for `events_received{source}`, also when
    parse() rejects it: aws.kinesisanalytics, aws.iam, aws.ec2, or "other"."""
    try:
        return _source(*_record(_load(body)))
    except EventError:
        return "other"


def parse(
    body: str | bytes,
    *,
    accounts: frozenset[str],
    regions: frozenset[str],
    event_names: frozenset[str],
    bare_records: bool = False,
) -> Hint:
    """The hint in one message body, or EventError(reason) saying why it is not one.

    `event_names`: eventNames the enabled rules are triggered by; `accounts`, `regions`: the
    configured ones (an empty set accepts nothing); `bare_records`: accept a CloudTrail record
    without an envelope (`replay` of log files). Never raises anything but EventError.
    """
    envelope, record = _record(_load(body))
    _require_envelope(envelope, bare_records)
    source = _source(envelope, record)
    name = record.get("eventName")
    if not isinstance(name, str) or name not in event_names:
        raise _fail("irrelevant_event", f"eventName {_text(name)[:100]!r} triggers no rule")
    if _is_true(record.get("readOnly")):
        raise _fail("read_only", f"{name} is read-only")
    if record.get("errorCode") not in (None, ""):
        raise _fail("failed_call", f"{name} failed: {_text(record.get('errorCode'))[:100]}")
    event_id = record.get("eventID")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 256:
        raise _fail("unknown_shape", f"{name} has no eventID")
    account = _account(envelope, record, event_id)
    if account not in accounts:
        raise NotCovered("account_not_configured", event_id, f"account {account}")
    region = _text(record.get("awsRegion")) or _text(envelope.get("region"))
    if source not in GLOBAL_SOURCES and region not in regions:
        raise NotCovered("region_not_configured", event_id, f"region {region[:64]!r}")
    identity = _dict(record.get("userIdentity"))
    issuer = _dict(_dict(identity.get("sessionContext")).get("sessionIssuer"))
    hint = Hint(
        event_id=event_id,
        event_name=name,
        source=source,
        account=account,
        region=region,
        event_time=_time(record.get("eventTime"), envelope.get("time")),
        actor=_text(identity.get("arn")),
        actor_type=_text(identity.get("type")),
        actor_issuer_arn=_issuer_arn(issuer),
        **_targets(source, record),
    )
    if not hint.targets:
        raise _fail("unknown_shape", f"{name} event {event_id} names nothing the daemon knows")
    return hint
