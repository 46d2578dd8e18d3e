"""The install guide shows what `iam-policy` really prints for the example config, and the queue
policy it shows is the template's: EventBridge rules of this installation only, TLS only."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from daemon.desired.iam_policy import EventQueue, daemon_policy
from daemon.desired.loader import load_config

ROOT = Path(__file__).parents[2]
GUIDE = (ROOT / "docs" / "install-eks.md").read_text()
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:flink-remediator-events"
DLQ = "arn:aws:sqs:eu-west-1:123456789012:flink-remediator-dlq"  # the guide's step 1
TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/flink-remediator-state"  # hub.yaml's


def json_block_after(marker: str) -> Any:
    tail = GUIDE[GUIDE.index(marker) :]
    match = re.search(r"```json\n(.*?)\n```", tail, re.DOTALL)
    assert match, f"no JSON block after {marker!r}"
    return json.loads(match.group(1))


def test_the_guide_and_the_example_file_show_the_generated_policy() -> None:
    generated = daemon_policy(
        load_config(ROOT / "config" / "desired-state.example.yaml"),
        EventQueue(QUEUE, DLQ),
        state_table_arn=TABLE,
    )
    example = json.loads((ROOT / "config" / "iam" / "daemon-policy.example.json").read_text())
    assert example == generated
    assert json_block_after("<summary>the generated policy</summary>") == generated


def test_the_guide_shows_the_dlq_lookup_from_the_redrive_policy() -> None:
    assert "--queue-url https://sqs.$REGION.amazonaws.com/$ACCOUNT/flink-remediator-events" in GUIDE
    assert "--attribute-names QueueArn RedrivePolicy KmsMasterKeyId" in GUIDE
    assert "-events-dlq" not in GUIDE


def test_the_queue_policy_admits_only_our_rules_and_only_tls() -> None:
    template = json.loads((ROOT / "config" / "iam" / "queue-policy.json").read_text())
    assert json_block_after("The queue policy") == template
    allow, deny = template["Statement"]
    assert allow["Effect"] == "Allow" and allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage" and allow["Resource"] == QUEUE
    assert allow["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:events:eu-west-1:123456789012:rule/flink-remediator-*"
    }
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "sqs:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
