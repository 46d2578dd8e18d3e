"""`iam-policy`: the daemon's own least-privilege IAM policy, generated from the enabled rules.

Each rule declares the IAM actions its observe and fix need; the daemon adds what every run
needs (identity, inventory, the queue, event routing). Reads and writes go in separate
statements so a dry-run-only deployment can drop the write statement.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from daemon import errors
from daemon.commands import exits
from daemon.desired.loader import load_config
from remediations import RULES
from remediations.base import AnyRule

BASE_READ = (
    "sts:GetCallerIdentity",
    "kinesisanalytics:ListApplications",
    "kinesisanalytics:DescribeApplication",
    "kinesisanalytics:ListTagsForResource",
    "ec2:DescribeRouteTables",  # EC2 route events -> the subnets a table serves
    "iam:ListEntitiesForPolicy",  # IAM policy events -> the roles it is attached to
)
QUEUE_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "iam-policy", help="print the daemon's least-privilege IAM policy for a config"
    )
    p.add_argument("--config", required=True, help="desired-state YAML file")
    p.add_argument("--queue-arn", default="", help="the event queue and its DLQ (default: any)")
    p.add_argument("--read-only", action="store_true", help="for dry-run only deployments")
    p.set_defaults(func=print_policy)


_QUEUE_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$")


def print_policy(args: argparse.Namespace) -> int:
    if args.queue_arn and not _QUEUE_ARN.match(args.queue_arn):
        return exits.fail(
            f"--queue-arn {args.queue_arn!r} is not an SQS queue ARN "
            "(arn:aws:sqs:REGION:ACCOUNT:NAME)",
            exits.USAGE,
        )
    try:
        config = load_config(args.config)
    except errors.ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return exits.ERROR
    enabled = [RULES[rule_id] for rule_id, s in config.rules.items() if s.enabled]
    policy = daemon_policy(enabled, config.accounts, args.queue_arn, args.read_only)
    print(json.dumps(policy, indent=2))
    return 0


# Where each service's actions may act. Actions with no resource type (Describe*, List*,
# GetCallerIdentity) stay on "*"; everything else is scoped to the configured accounts.
_SCOPES = {
    "kinesisanalytics": "arn:aws:kinesisanalytics:*:{account}:application/*",
    "logs": "arn:aws:logs:*:{account}:log-group:*",
    "sns": "arn:aws:sns:*:{account}:*",
    "kms": "arn:aws:kms:*:{account}:key/*",
}
_IAM_POLICY_ACTIONS = {"iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListEntitiesForPolicy"}
_UNSCOPED = {"kinesisanalytics:ListApplications", "logs:DescribeLogGroups"}


def _resources(action: str, accounts: Sequence[str]) -> tuple[str, ...]:
    service, _, name = action.partition(":")
    if action in _UNSCOPED or (name.startswith("Describe") and service == "ec2"):
        return ("*",)
    if action in _IAM_POLICY_ACTIONS:  # AWS managed policies live outside the account
        return ("arn:aws:iam::*:policy/*",)
    if service == "iam":
        return tuple(f"arn:aws:iam::{a}:role/*" for a in accounts)
    if service in _SCOPES:
        return tuple(_SCOPES[service].format(account=a) for a in accounts)
    return ("*",)


def _statements(sid: str, actions: Iterable[str], accounts: Sequence[str]) -> list[dict[str, Any]]:
    by_resources: dict[tuple[str, ...], list[str]] = {}
    for action in sorted(actions):
        by_resources.setdefault(_resources(action, accounts), []).append(action)
    return [
        {"Sid": f"{sid}{i}", "Effect": "Allow", "Action": acts, "Resource": list(resources)}
        for i, (resources, acts) in enumerate(sorted(by_resources.items()), start=1)
    ]


def daemon_policy(
    rules: Sequence[AnyRule],
    accounts: Iterable[str],
    queue_arn: str = "",
    read_only: bool = False,
) -> dict[str, Any]:
    accounts = sorted(accounts)
    reads = set(BASE_READ).union(*(r.read_actions for r in rules))
    writes = set().union(*(r.write_actions for r in rules)) - reads
    queues = (
        [queue_arn, f"{queue_arn}-dlq"]
        if queue_arn
        else [f"arn:aws:sqs:*:{account}:*" for account in accounts]
    )
    statements = _statements("Observe", reads, accounts)
    statements.append(
        {
            "Sid": "ConsumeEventQueue",
            "Effect": "Allow",
            "Action": list(QUEUE_ACTIONS),
            "Resource": queues,
        }
    )
    if not read_only:
        statements += _statements("Fix", writes, accounts)
    return {"Version": "2012-10-17", "Statement": statements}
