"""`iam-policy --queue-url` reads the queue live: its ARN, the DLQ its RedrivePolicy names (any
name: no `-dlq` convention) and its customer managed key; the daemon finds its DLQ the same way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from daemon.aws import Aws
from daemon.commands.iam_policy import lookup_queue
from daemon.ingest.sqs import SqsQueue, dead_letter_arn
from sandbox.server import Sandbox


def redrive(target: str) -> str:
    return json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": "5"})


def test_the_dlq_is_the_one_the_redrive_policy_names(
    fresh_sandbox: Sandbox, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sqs, kms = aws("sqs"), aws("kms")
    dlq_url = sqs.create_queue(QueueName="parked-messages")["QueueUrl"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    dlq_arn = dlq["Attributes"]["QueueArn"]
    key = kms.create_key(Description="queue key")["KeyMetadata"]
    url = sqs.create_queue(
        QueueName="remediator-events",
        Attributes={"RedrivePolicy": redrive(dlq_arn), "KmsMasterKeyId": key["KeyId"]},
    )["QueueUrl"]
    queue = lookup_queue(Aws(fresh_sandbox.region), url)
    assert queue.arn.endswith(":remediator-events")
    assert queue.dead_letter_arn == dlq_arn
    assert queue.kms_key_arn == key["Arn"]

    # The daemon at run time: the same DLQ, for its depth gauge.
    assert SqsQueue(Aws(fresh_sandbox.region), url, 60).dead_letter_url() == dlq_url

    plain = sqs.create_queue(QueueName="plain-events")["QueueUrl"]
    assert lookup_queue(Aws(fresh_sandbox.region), plain).dead_letter_arn == ""
    managed = sqs.create_queue(
        QueueName="managed-key-events", Attributes={"KmsMasterKeyId": "alias/aws/sqs"}
    )["QueueUrl"]
    assert lookup_queue(Aws(fresh_sandbox.region), managed).kms_key_arn == ""


def test_dead_letter_arn_parsing() -> None:
    arn = "arn:aws:sqs:eu-west-1:123456789012:anything"
    assert dead_letter_arn(redrive(arn)) == arn
    assert dead_letter_arn(None) == dead_letter_arn("") == ""
    assert dead_letter_arn(redrive("not-an-arn")) == ""
