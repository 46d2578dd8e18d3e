"""The sandbox's event plumbing: queues and rules provisioned through the API (as a user would
with the files in config/eventbridge), and delivery of CloudTrail envelopes through them.

Delivery uses moto's EventBridge rules and moto's pattern matcher, but sends the envelope itself
instead of calling moto's PutEvents: that one adds a non-AWS `ingestion-time` key, re-stamps id
and region when forwarding across Regions, and also fires DISABLED rules.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import boto3

from sandbox.iam_decision import Caller, Policies, decide
from sandbox.iam_eval import Request
from sandbox.iam_principal import queue_policy

log = logging.getLogger("sandbox")
EVENTBRIDGE_PRINCIPAL = "events.amazonaws.com"

# config/eventbridge, shipped in the wheel as package data (pyproject.toml, daemon.bundled).
PATTERN_DIR = files("daemon.bundled") / "eventbridge"
QUEUE_NAME = "flink-remediator-events"
DLQ_NAME = "flink-remediator-events-dlq"
RULE_PREFIX = "flink-remediator-"
IAM_REGION = "us-east-1"
MAX_RECEIVE_COUNT = 5
VISIBILITY_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Queues:
    queue_url: str
    dlq_url: str
    queue_arn: str


def load_patterns(directory: Traversable = PATTERN_DIR) -> dict[str, dict[str, Any]]:
    """Rule name -> event pattern, one per JSON file."""
    patterns = {
        RULE_PREFIX + entry.name.removesuffix(".json"): json.loads(entry.read_text())
        for entry in sorted(directory.iterdir(), key=lambda entry: entry.name)
        if entry.name.endswith(".json")
    }
    if not patterns:
        raise FileNotFoundError(f"no EventBridge patterns in {directory}")
    return patterns


def provision(
    endpoint_url: str, region: str, account_id: str, pattern_dir: Traversable = PATTERN_DIR
) -> Queues:
    """Create the event queue, its DLQ and the rules, over HTTP like any AWS user."""

    def client(service: str, in_region: str = region) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=in_region,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )

    sqs = client("sqs")
    dlq_url = sqs.create_queue(QueueName=DLQ_NAME)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    queue_url = sqs.create_queue(
        QueueName=QUEUE_NAME,
        Attributes={
            "RedrivePolicy": json.dumps(redrive),
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
        },
    )["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{region}:{account_id}:{QUEUE_NAME}"
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={"Policy": json.dumps(queue_policy_document(queue_arn, account_id))},
    )
    events = client("events")
    for name, pattern in load_patterns(pattern_dir).items():
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
        if pattern.get("source") == ["aws.iam"] and region != IAM_REGION:
            # IAM events exist only in us-east-1: forward them to this Region's default bus.
            forward = client("events", IAM_REGION)
            forward.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
            bus = f"arn:aws:events:{region}:{account_id}:event-bus/default"
            forward.put_targets(Rule=name, Targets=[{"Id": "forward", "Arn": bus}])
    return Queues(queue_url=queue_url, dlq_url=dlq_url, queue_arn=queue_arn)


SCHEDULER_ROLE = "flink-remediator-scheduler"  # EventBridge Scheduler's role for sweep ticks
# hub.yaml's DaemonRoleName (default): queue sweeps fan work messages out on the queue. The
# demo's daemon is an IAM user of the same name (sandbox/demo.py): it stands in for the role.
DAEMON_NAME = "flink-remediator"


def queue_policy_document(queue_arn: str, account_id: str) -> dict[str, Any]:
    """As deploy/cloudformation/hub.yaml writes it: EventBridge may send for the project's rules
    (default and central bus), and everyone else is denied sqs:SendMessage, whatever their own
    policies allow, except the Scheduler role that sends sweep ticks and the daemon role that
    sends sweep work messages (a role session has no aws:SourceArn; the demo's daemon user
    neither). A negated operator is true when its key is missing, so a caller without
    aws:SourceArn is denied (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)."""
    # Also the central bus's rules (rule/flink-remediator-central/NAME): ArnLike's * spans "/".
    rules = [f"arn:aws:events:*:{account_id}:rule/{RULE_PREFIX}*"]
    senders = [
        f"arn:aws:iam::{account_id}:role/{SCHEDULER_ROLE}",
        f"arn:aws:iam::{account_id}:role/{DAEMON_NAME}",
        f"arn:aws:iam::{account_id}:user/{DAEMON_NAME}",
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ProjectRulesOnly",
                "Effect": "Allow",
                "Principal": {"Service": EVENTBRIDGE_PRINCIPAL},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnLike": {"aws:SourceArn": rules}},
            },
            {
                "Sid": "DenyOtherSenders",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {
                    "ArnNotLike": {"aws:SourceArn": rules},
                    "ArnNotEquals": {"aws:PrincipalArn": senders},
                },
            },
        ],
    }


def deliver(
    event: dict[str, Any], account_id: str, region: str, hops: int = 0, bus_name: str = "default"
) -> int:
    """Route `event` through the ENABLED rules of a bus (the account's default bus unless
    forwarded to another, e.g. the central bus of the daemon's account); returns deliveries."""
    from moto.sqs.models import sqs_backends

    if hops > 3:  # a forwarding loop between buses
        return 0
    delivered = 0
    for rule_arn, target in routes(event, account_id, region, bus_name):
        arn = target.split(":")
        service, target_region, target_account, resource = arn[2], arn[3], arn[4], arn[5]
        if service == "sqs":
            if not queue_admits(rule_arn, account_id, target):
                log.warning(
                    "sandbox_event_refused_by_queue_policy rule=%s queue=%s", rule_arn, target
                )
                continue
            sqs_backends[target_account][target_region].send_message(
                queue_name=resource, message_body=json.dumps(event)
            )
            delivered += 1
        elif service == "events" and resource.startswith("event-bus/"):
            name = resource.removeprefix("event-bus/")
            delivered += deliver(event, target_account, target_region, hops + 1, name)
    return delivered


def routes(
    event: dict[str, Any], account_id: str, region: str, bus_name: str = "default"
) -> list[tuple[str, str]]:
    """(rule ARN, target ARN) of every ENABLED rule of the bus whose pattern matches."""
    from moto.events.models import events_backends

    bus = events_backends[account_id][region].event_buses.get(bus_name)
    matched = []
    for rule in list(bus.rules.values()) if bus else []:
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):  # type: ignore[arg-type]
            continue
        matched += [(str(rule.arn), str(target["Arn"])) for target in rule.targets]
    return matched


def queue_admits(rule_arn: str, rule_account: str, queue_arn: str) -> bool:
    """Does the queue policy let EventBridge send this rule's events? AWS: the queue policy must
    allow events.amazonaws.com sqs:SendMessage, typically with aws:SourceArn = the rule's ARN;
    without such an Allow (or with a Deny) the event is not delivered.
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions"""
    _, _, _, region, account, name = queue_arn.split(":", 5)
    context = {
        "aws:sourcearn": (rule_arn,),
        "aws:sourceaccount": (rule_account,),
        "aws:securetransport": ("true",),
    }
    policies = Policies(resource=queue_policy(account, region, name), resource_account=account)
    caller = Caller(EVENTBRIDGE_PRINCIPAL, rule_account, service=True)
    request = Request("sqs:SendMessage", queue_arn, context)
    return decide(policies, caller, request).decision == "allow"
