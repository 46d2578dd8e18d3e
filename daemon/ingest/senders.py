"""Who put a message on the queue: SQS's `SenderId` against the daemon's own principal id.

SQS stamps every message with the sender's principal id ("For a user, returns the user ID ...
For an IAM role, returns the IAM role ID, for example ABCDE1F2GH3I4JK5LMNOP:i-a123b456":
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html).
A sender cannot choose it. The queue policy (hub.yaml DenyOtherSenders) lets only the rules,
the Scheduler role and the daemon role send, and the daemon role must be able to (queue sweeps
fan out work messages). So:

- an event envelope (or a tick, or anything but sweep work) sent by the daemon's own role is
  forged: EventBridge delivers events, the daemon never sends them. Someone holds its
  credentials (`sent_by_daemon`);
- a sweep work message is only ever sent by the daemon's own role (`sweep_work_not_own`).

Roles compare by the role id (the part before ":"), so every pod's session matches; an IAM user
by its user id. A message without a SenderId (SQS always gives one when asked) is not judged.
"""

from __future__ import annotations

from typing import Literal

from daemon.errors import EventError
from daemon.ingest.sqs import Message
from daemon.ingest.sweep_messages import SweepWork, parse

Refusal = Literal["sent_by_daemon", "sweep_work_not_own"]


def principal_of(sender_id: str) -> str:
    """The role id of a role session's `AROA...:session`, or a user's id as it is."""
    return sender_id.split(":", 1)[0]


class SenderCheck:
    def __init__(self, own_user_id: str) -> None:
        """`own_user_id`: GetCallerIdentity's UserId of the daemon's home credentials."""
        self._own = principal_of(own_user_id)

    def refusal(self, message: Message) -> Refusal | None:
        if not self._own or not message.sender_id:
            return None
        ours = principal_of(message.sender_id) == self._own
        work = _is_sweep_work(message.body)
        if work and not ours:
            return "sweep_work_not_own"
        if ours and not work:
            return "sent_by_daemon"
        return None


def _is_sweep_work(body: str) -> bool:
    try:
        return isinstance(parse(body), SweepWork)
    except EventError:  # a malformed sweep message: not work; the sweep handler drops it
        return False
