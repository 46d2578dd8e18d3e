"""`iam-policy`: print the daemon's least-privilege IAM policy for a config.

The policy itself is built by `daemon.desired.iam_policy`; this command reads the flags and,
with `--queue-url`, looks the queue up live: its ARN, its DLQ from the RedrivePolicy and its
KMS key (KmsMasterKeyId). The queue is never left out silently: without a queue flag the
command asks for one, or for `--no-queue`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

from daemon import errors
from daemon.aws import Aws
from daemon.commands import exits
from daemon.desired.iam_hub import hub_policy, member_policy
from daemon.desired.iam_policy import EventQueue, daemon_policy, within_organization
from daemon.desired.loader import load_config
from daemon.ingest.sqs import dead_letter_arn

_QUEUE_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]{1,80}(\.fifo)?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_TABLE_ARN = re.compile(r"^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[\w.-]{3,255}$")
_QUEUE_URL = re.compile(r"^https?://[^/]+/\d{12}/[\w-]{1,80}(\.fifo)?$")
AWS_MANAGED_SQS_KEY = "alias/aws/sqs"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "iam-policy",
        help="print the daemon's least-privilege IAM policy for a config",
        description="Print the daemon's least-privilege IAM policy. The event queue is required "
        "(--queue-url or --queue-arn) unless --no-queue says the daemon runs from sweeps only, "
        "or --member prints a member account's role (no queue there).",
    )
    p.add_argument("--config", required=True, help="desired-state YAML file")
    queue = p.add_mutually_exclusive_group()
    queue.add_argument("--queue-arn", default="", help="the event queue's ARN")
    queue.add_argument(
        "--queue-url",
        default="",
        help="the event queue's URL: its ARN, DLQ (RedrivePolicy) and KMS key are read live",
    )
    queue.add_argument(
        "--no-queue",
        action="store_true",
        help="no SQS statements: the daemon runs from sweeps only (no `--queue-url`)",
    )
    p.add_argument("--dlq-arn", default="", help="the DLQ's ARN (with --queue-arn)")
    p.add_argument("--queue-kms-key-arn", default="", help="the queue's KMS key (--queue-arn)")
    p.add_argument("--own-role-arn", default="", help="the daemon's role (default: config)")
    p.add_argument(
        "--state-table-arn",
        default="",
        help="the DynamoDB table of `run --state-table` (hub.yaml's StateTableArn output): "
        "its item reads and writes, on that table only",
    )
    p.add_argument("--read-only", action="store_true", help="for dry-run only deployments")
    p.add_argument(
        "--resource-org-id",
        default="",
        help="the AWS Organization (o-...) of every member account: sts:AssumeRole and "
        "sns:Publish then reach only resources in it (aws:ResourceOrgID)",
    )
    split = p.add_mutually_exclusive_group()
    split.add_argument(
        "--hub",
        action="store_true",
        help="many accounts: the daemon's own role (queue, sts:AssumeRole on the member roles)",
    )
    split.add_argument(
        "--member", action="store_true", help="many accounts: the member role in each account"
    )
    p.set_defaults(func=print_policy)


def _check_flags(args: argparse.Namespace) -> None:
    """Raise a usage Failure for a malformed value or a combination that would silently leave
    statements out of the policy."""
    checks = (
        ("--queue-arn", args.queue_arn, _QUEUE_ARN, "an SQS queue ARN"),
        ("--dlq-arn", args.dlq_arn, _QUEUE_ARN, "an SQS queue ARN"),
        ("--queue-url", args.queue_url, _QUEUE_URL, "an SQS queue URL"),
        ("--own-role-arn", args.own_role_arn, _ROLE_ARN, "an IAM role ARN"),
        ("--resource-org-id", args.resource_org_id, _ORG_ID, "an organization id (o-...)"),
        ("--state-table-arn", args.state_table_arn, _TABLE_ARN, "a DynamoDB table ARN"),
    )
    for flag, value, pattern, expected in checks:
        if value and not pattern.match(value):
            raise exits.Failure(f"iam-policy: {flag}: not {expected}: {value!r}", exits.USAGE)
    _check_combinations(args)


def _check_combinations(args: argparse.Namespace) -> None:
    if (args.dlq_arn or args.queue_kms_key_arn) and not args.queue_arn:
        raise exits.Failure(
            "iam-policy: --dlq-arn/--queue-kms-key-arn need --queue-arn", exits.USAGE
        )
    has_queue = bool(args.queue_url or args.queue_arn)
    if args.member and (has_queue or args.no_queue):
        raise exits.Failure(
            "iam-policy: --member takes no queue flag (the hub's role reads the queue: "
            "iam-policy --hub --queue-url URL)",
            exits.USAGE,
        )
    if args.member and args.state_table_arn:
        raise exits.Failure(
            "iam-policy: --member takes no --state-table-arn (the hub's role keeps the state: "
            "iam-policy --hub --state-table-arn ARN)",
            exits.USAGE,
        )
    if not args.member and not has_queue and not args.no_queue:
        # A policy without the SQS statements makes the daemon fail at its first receive;
        # leaving them out must be a decision the reviewer can see on the command line.
        raise exits.Failure(
            "iam-policy: which event queue? give --queue-url URL (or --queue-arn ARN "
            "[--dlq-arn ARN]) for its SQS statements, or --no-queue for a daemon that runs "
            "from sweeps only",
            exits.USAGE,
        )


def print_policy(args: argparse.Namespace) -> int:
    _check_flags(args)
    config = load_config(args.config)  # a ConfigError: `error:` lines (daemon/cli.py)
    queue = None
    if args.queue_url:
        try:
            queue = lookup_queue(Aws(_url_region(args.queue_url)), args.queue_url)
        except errors.AwsError as exc:
            raise exits.Failure(f"iam-policy: reading {args.queue_url} failed: {exc}") from None
    elif args.queue_arn:
        queue = EventQueue(args.queue_arn, args.dlq_arn, args.queue_kms_key_arn)
    if args.hub:
        policy = hub_policy(config, queue, args.state_table_arn)
    elif args.member:
        policy = member_policy(config, read_only=args.read_only)
    else:
        policy = daemon_policy(
            config,
            queue,
            own_role_arn=args.own_role_arn,
            read_only=args.read_only,
            state_table_arn=args.state_table_arn,
        )
    if args.resource_org_id:
        policy = within_organization(policy, args.resource_org_id)
    if args.queue_arn and not args.dlq_arn:
        print(
            "iam-policy: note: no --dlq-arn, so no DLQ statement (the DLQ depth gauge will be "
            "denied); --queue-url finds the DLQ from the queue's RedrivePolicy",
            file=sys.stderr,
        )
    if args.no_queue:
        print(
            "iam-policy: note: --no-queue: no SQS statements; the daemon can only sweep "
            "(run it without --queue-url)",
            file=sys.stderr,
        )
    print(json.dumps(policy, indent=2))
    return 0


def _url_region(url: str) -> str:
    host = url.split("/")[2]
    match = re.match(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com", host)
    if match:
        return match.group(1)
    # A non-AWS endpoint (the sandbox): the usual environment decides.
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def lookup_queue(aws: Aws, url: str) -> EventQueue:
    """The queue's ARN, its DLQ (from RedrivePolicy) and its customer managed key, read live."""
    attributes = aws.call(
        "sqs",
        "GetQueueAttributes",
        QueueUrl=url,
        AttributeNames=["QueueArn", "RedrivePolicy", "KmsMasterKeyId"],
    )["Attributes"]
    key = str(attributes.get("KmsMasterKeyId") or "")
    key_arn = ""
    if key and key != AWS_MANAGED_SQS_KEY:
        metadata = aws.call("kms", "DescribeKey", KeyId=key)["KeyMetadata"]
        key_arn = "" if metadata.get("KeyManager") == "AWS" else str(metadata["Arn"])
    return EventQueue(
        str(attributes["QueueArn"]), dead_letter_arn(attributes.get("RedrivePolicy")), key_arn
    )
