"""A replica holds at most `max_held` sweep work messages (issue 26: each replica takes a share
of a sweep): while it holds that many, its receive loops wait instead of receiving, so the
other replicas receive the rest of the sweep; a settled message (done or failed) makes room."""

from __future__ import annotations

import threading
from typing import Any

from daemon.ingest.sqs import Message, SqsQueue, poll_forever
from daemon.ingest.sweep_messages import SweepWork, work_bodies
from daemon.ingest.sweep_queue import QueueSweeps
from daemon.reconcile.workqueue import Ticket
from daemon.state import AppRef, Cause

ACCOUNT, REGION = "123456789012", "eu-west-1"


class Acknowledged:
    """The part of SqsQueue QueueSweeps calls when a message settles."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.released: list[str] = []

    def delete(self, message: Message) -> None:
        self.deleted.append(message.message_id)

    def release(self, message: Message) -> None:
        self.released.append(message.message_id)


def work_messages(count: int) -> list[Message]:
    names = tuple(f"app-{n}" for n in range(10 * count))
    bodies = work_bodies(SweepWork(ACCOUNT, REGION, names, "tick-1"))
    return [Message(f"m{n}", f"h{n}", body, 1) for n, body in enumerate(bodies)]


def test_holding_max_held_work_messages_leaves_no_room_until_one_settles() -> None:
    sqs, tickets = Acknowledged(), []

    def submit(apps: set[AppRef], cause: Cause, ticket: Ticket[AppRef]) -> None:
        tickets.append((apps, ticket))

    sweeps = QueueSweeps(sqs, lambda a, r: (), lambda a, r: True, submit, max_held=3)  # type: ignore[arg-type]
    messages = work_messages(4)
    for message in messages[:3]:
        assert sweeps.has_room()
        assert sweeps.handle(message)
    assert not sweeps.has_room()
    apps, ticket = tickets[0]
    for app in apps:
        ticket.done(app, True)
    assert sqs.deleted == ["m0"] and sweeps.has_room()
    assert sweeps.handle(messages[3])
    assert not sweeps.has_room()
    apps, ticket = tickets[1]
    ticket.done(next(iter(apps)), False)  # one app failed: released, and room again
    for app in apps:
        ticket.done(app, True)
    assert sqs.released == ["m1"] and sweeps.has_room()


class CountingSqs:
    """ReceiveMessage answers nothing, counted; the test's `room` says when the loop may ask."""

    def __init__(self) -> None:
        self.receives = 0
        self.asked = threading.Event()

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        assert operation == "ReceiveMessage"
        self.receives += 1
        self.asked.set()
        return {}


def test_a_receive_loop_without_room_waits_and_still_beats() -> None:
    stop, room, beats = threading.Event(), threading.Event(), threading.Semaphore(0)
    fake = CountingSqs()
    queue = SqsQueue(fake, "https://sqs.eu-west-1.amazonaws.com/123456789012/q", 60, 0)  # type: ignore[arg-type]
    loop = threading.Thread(
        target=poll_forever,
        args=(queue, lambda m: None, stop, beats.release, lambda ok, e: None, room.is_set),
    )
    loop.start()
    try:
        for _ in range(3):  # three turns without room: beats, and no receive
            assert beats.acquire(timeout=5)
        assert fake.receives == 0
        room.set()
        assert fake.asked.wait(5)
    finally:
        stop.set()
        loop.join(5)
    assert not loop.is_alive()
