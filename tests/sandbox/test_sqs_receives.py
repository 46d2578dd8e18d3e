"""The sandbox's SQS under receives that run at once (the daemon's `--pollers`): as in SQS, each
message goes to exactly one of them, and a delete during a receive loses nothing."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from sandbox.server import Sandbox

MESSAGES, RECEIVERS = 600, 6


def test_concurrent_receives_deliver_each_message_once(
    sandbox: Sandbox, aws: Callable[..., Any]
) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"receives-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    try:
        sent = set()
        for start in range(0, MESSAGES, 10):
            entries = [{"Id": str(n), "MessageBody": f"m{start + n}"} for n in range(10)]
            answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            sent |= {m["MessageId"] for m in answer["Successful"]}
        received: Counter[str] = Counter()
        lock = threading.Lock()

        def receive() -> None:
            own = aws("sqs")  # one client per thread, as each poller has its own connection
            while True:
                messages = own.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
                ).get("Messages", [])
                if not messages:
                    return
                with lock:
                    received.update(m["MessageId"] for m in messages)
                own.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                    ],
                )

        threads = [threading.Thread(target=receive) for _ in range(RECEIVERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert set(received) == sent  # none left invisible by a failed receive
        assert [m for m, n in received.items() if n > 1] == []  # none handed out twice
    finally:
        sqs.delete_queue(QueueUrl=url)
