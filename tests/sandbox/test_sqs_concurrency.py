"""The sandbox's SQS under several receive loops at once (the daemon runs `--pollers` of them):
every call answers (moto's own queue state is not thread-safe: sandbox/moto_sqs.py), and a long
poll does not hold up a sender."""

from __future__ import annotations

import threading
from typing import Any

from sandbox.server import Sandbox
from tests.conftest import AwsFactory

MESSAGES = 300
RECEIVERS = 8
RECEIVES = 60  # each; without the lock, moto answered ~40 of these 480 with a 500


def test_concurrent_receives_all_answer(fresh_sandbox: Sandbox, aws: AwsFactory) -> None:
    sqs = aws("sqs")
    url = fresh_sandbox.queue_url
    for start in range(0, MESSAGES, 10):
        entries = [{"Id": str(i), "MessageBody": f"m-{i}"} for i in range(start, start + 10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    failures: list[str] = []

    def receive() -> None:
        client = aws("sqs")  # one client per thread, as boto3 wants
        for _ in range(RECEIVES):
            try:
                # Visible again at once: every receive moves messages in and out of flight.
                client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            except Exception as exc:
                failures.append(repr(exc)[:200])

    threads = [threading.Thread(target=receive) for _ in range(RECEIVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    bodies: list[str] = []  # received that often, most went on to the DLQ (its redrive policy)
    for queue in (url, fresh_sandbox.dlq_url):
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
            bodies += [m["Body"] for m in batch]
    assert sorted(bodies) == sorted(f"m-{i}" for i in range(MESSAGES))  # none lost or doubled


def test_a_long_poll_waits_for_a_message_sent_meanwhile(
    fresh_sandbox: Sandbox, aws: AwsFactory
) -> None:
    url = fresh_sandbox.queue_url
    answer: dict[str, Any] = {}

    def poll() -> None:
        answer.update(aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=20))

    poller = threading.Thread(target=poll)
    poller.start()
    aws("sqs").send_message(QueueUrl=url, MessageBody="late")  # not blocked by the long poll
    poller.join(30)
    assert [m["Body"] for m in answer.get("Messages", [])] == ["late"]
