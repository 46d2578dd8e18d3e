"""`iam-policy`: print the daemon's least-privilege IAM policy for a config.

The policy itself is built by `daemon.desired.iam_policy`; this command reads the flags and,
with `--queue-url`, looks the queue up live: its ARN, its DLQ from the RedrivePolicy and its
KMS key (KmsMasterKeyId).
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
from daemon.desired.iam_hub import hub_policy, member_policy
from daemon.desired.iam_policy import EventQueue, daemon_policy
from daemon.desired.loader import load_config
from daemon.ingest.sqs import dead_letter_arn

_QUEUE_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]{1,80}(\.fifo)?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_QUEUE_URL = re.compile(r"^https?://[^/]+/\d{12}/[\w-]{1,80}(\.fifo)?$")
AWS_MANAGED_SQS_KEY = "alias/aws/sqs"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "iam-policy", help="print the daemon's least-privilege IAM policy for a config"
    )
    p.add_argument("--config", required=True, help="desired-state YAML file")
    queue = p.add_mutually_exclusive_group()
    queue.add_argument("--queue-arn", default="", help="the event queue's ARN")
    queue.add_argument(
        "--queue-url",
        default="",
        help="the event queue's URL: its ARN, DLQ (RedrivePolicy) and KMS key are read live",
    )
    p.add_argument("--dlq-arn", default="", help="the DLQ's ARN (with --queue-arn)")
    p.add_argument("--queue-kms-key-arn", default="", help="the queue's KMS key (--queue-arn)")
    p.add_argument("--own-role-arn", default="", help="the daemon's role (default: config)")
    p.add_argument("--read-only", action="store_true", help="for dry-run only deployments")
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


def _bad(flag: str, value: str, expected: str) -> int:
    print(f"iam-policy: {flag}: not {expected}: {value!r}", file=sys.stderr)
    return 2


def print_policy(args: argparse.Namespace) -> int:
    checks = (
        ("--queue-arn", args.queue_arn, _QUEUE_ARN, "an SQS queue ARN"),
        ("--dlq-arn", args.dlq_arn, _QUEUE_ARN, "an SQS queue ARN"),
        ("--queue-url", args.queue_url, _QUEUE_URL, "an SQS queue URL"),
        ("--own-role-arn", args.own_role_arn, _ROLE_ARN, "an IAM role ARN"),
    )
    for flag, value, pattern, expected in checks:
        if value and not pattern.match(value):
            return _bad(flag, value, expected)
    if (args.dlq_arn or args.queue_kms_key_arn) and not args.queue_arn:
        print("iam-policy: --dlq-arn/--queue-kms-key-arn need --queue-arn", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
        queue = None
        if args.queue_url:
            queue = lookup_queue(Aws(_url_region(args.queue_url)), args.queue_url)
        elif args.queue_arn:
            queue = EventQueue(args.queue_arn, args.dlq_arn, args.queue_kms_key_arn)
        if args.hub:
            policy = hub_policy(config, queue)
        elif args.member:
            policy = member_policy(config, read_only=args.read_only)
        else:
            policy = daemon_policy(
                config, queue, own_role_arn=args.own_role_arn, read_only=args.read_only
            )
    except errors.ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    except errors.AwsError as exc:
        print(f"iam-policy: reading {args.queue_url} failed: {exc}", file=sys.stderr)
        return 1
    if args.queue_arn and not args.dlq_arn:
        print(
            "iam-policy: note: no --dlq-arn, so no DLQ statement (the DLQ depth gauge will be "
            "denied); --queue-url finds the DLQ from the queue's RedrivePolicy",
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
