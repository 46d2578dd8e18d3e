"""SenderId checks (daemon/ingest/senders.py): an envelope sent by the daemon's own role is
refused, sweep work is accepted only from it; role sessions compare by role id."""

from __future__ import annotations

import json

from daemon.ingest.senders import SenderCheck
from daemon.ingest.sqs import Message

OWN = "AROAEXAMPLEDAEMONROLE:pod-a"
WORK = json.dumps(
    {
        "flink_remediator": "sweep_work",
        "version": 1,
        "account": "123456789012",
        "region": "eu-west-1",
        "apps": ["orders"],
        "sweep": "tick-1",
    }
)
ENVELOPE = json.dumps({"detail-type": "AWS API Call via CloudTrail", "detail": {}})


def message(body: str, sender: str) -> Message:
    return Message("m-1", "r-1", body, 1, sender)


def test_envelopes_from_the_daemons_role_are_refused_from_any_of_its_sessions() -> None:
    check = SenderCheck(OWN)
    assert check.refusal(message(ENVELOPE, "AROAEXAMPLEDAEMONROLE:pod-b")) == "sent_by_daemon"
    assert check.refusal(message(ENVELOPE, "AIDAEVENTBRIDGE")) is None


def test_sweep_work_only_from_the_daemon() -> None:
    check = SenderCheck(OWN)
    assert check.refusal(message(WORK, "AROAEXAMPLEDAEMONROLE:pod-b")) is None
    assert check.refusal(message(WORK, "AROAOTHERROLE:x")) == "sweep_work_not_own"


def test_nothing_judged_without_a_sender_id_or_an_own_id() -> None:
    assert SenderCheck(OWN).refusal(message(ENVELOPE, "")) is None
    assert SenderCheck("").refusal(message(WORK, "AROAOTHERROLE:x")) is None
