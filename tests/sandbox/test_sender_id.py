"""SQS's SenderId as AWS sets it (sandbox/moto_sqs.py): the sending principal's id (a user's
AIDA... id; a role session's `AROA...:session`), and for what EventBridge delivers an id that is
none of the account's principals. Under `--enforce-iam` the queue policy lets the daemon
principal send (queue sweeps fan out work messages), as hub.yaml's DenyOtherSenders does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.eventbridge import DAEMON_NAME
from sandbox.moto_sqs import SERVICE_SENDER_ID
from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, create_user

SEND_ANYWHERE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["sqs:*", "iam:*", "sts:*"], "Resource": "*"}],
}


def sender_ids(sqs: Any, queue_url: str) -> list[str]:
    found = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["SenderId"]
    ).get("Messages", [])
    for message in found:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return [m["Attributes"]["SenderId"] for m in found]


def test_sender_id_is_the_senders_principal_id(fresh_sandbox: Sandbox) -> None:
    sandbox = fresh_sandbox
    admin = Credentials("sandbox-admin", "sandbox")
    iam = client(sandbox.endpoint_url, sandbox.region, "iam", admin)
    user = create_user(iam)
    user_id = iam.get_user(UserName=user.arn.rsplit("/", 1)[-1])["User"]["UserId"]
    sqs = client(sandbox.endpoint_url, sandbox.region, "sqs", user)
    queue = sqs.create_queue(QueueName="senders")["QueueUrl"]

    sqs.send_message(QueueUrl=queue, MessageBody="by a user")
    assert sender_ids(sqs, queue) == [user_id]

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="sender", AssumeRolePolicyDocument=json.dumps(trust))
    assumed = client(sandbox.endpoint_url, sandbox.region, "sts", user).assume_role(
        RoleArn=f"arn:aws:iam::{sandbox.account_id}:role/sender", RoleSessionName="pod-1"
    )
    keys = assumed["Credentials"]
    session = Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    role_sqs = client(sandbox.endpoint_url, sandbox.region, "sqs", session)
    role_sqs.send_message_batch(
        QueueUrl=queue, Entries=[{"Id": "1", "MessageBody": "a"}, {"Id": "2", "MessageBody": "b"}]
    )
    role_session_id = assumed["AssumedRoleUser"]["AssumedRoleId"]
    assert role_session_id.startswith("AROA") and role_session_id.endswith(":pod-1")
    assert sender_ids(sqs, queue) == [role_session_id, role_session_id]


def test_what_eventbridge_delivers_is_not_sent_by_the_caller(fresh_sandbox: Sandbox) -> None:
    sandbox = fresh_sandbox
    admin = Credentials("sandbox-admin", "sandbox")
    iam = client(sandbox.endpoint_url, sandbox.region, "iam", admin)
    user = create_user(iam)
    user_id = iam.get_user(UserName=user.arn.rsplit("/", 1)[-1])["User"]["UserId"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="watched", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_user_policy(
        UserName=user.arn.rsplit("/", 1)[-1],
        PolicyName="all",
        PolicyDocument=json.dumps(SEND_ANYWHERE),
    )
    sqs = client(sandbox.endpoint_url, sandbox.region, "sqs", admin)
    sender_ids(sqs, sandbox.queue_url)
    user_iam = client(sandbox.endpoint_url, sandbox.region, "iam", user)
    user_iam.update_assume_role_policy(RoleName="watched", PolicyDocument=json.dumps(trust))
    found = sender_ids(sqs, sandbox.queue_url)
    assert found and set(found) == {SERVICE_SENDER_ID} and user_id not in found


@pytest.fixture
def enforced(fresh_sandbox: Sandbox) -> Iterator[Sandbox]:
    fresh_sandbox.set_enforce_iam(True)
    try:
        yield fresh_sandbox
    finally:
        fresh_sandbox.set_enforce_iam(False)


def test_the_queue_policy_lets_the_daemon_principal_send(enforced: Sandbox) -> None:
    keys = enforced.info()["admin"]
    admin = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])
    iam = client(enforced.endpoint_url, enforced.region, "iam", admin)
    daemon = create_user(iam, DAEMON_NAME)
    other = create_user(iam)
    for user in (daemon, other):
        iam.put_user_policy(
            UserName=user.arn.rsplit("/", 1)[-1],
            PolicyName="all",
            PolicyDocument=json.dumps(SEND_ANYWHERE),
        )
    client(enforced.endpoint_url, enforced.region, "sqs", daemon).send_message(
        QueueUrl=enforced.queue_url, MessageBody="sweep work"
    )
    with pytest.raises(Exception, match="AccessDenied"):
        client(enforced.endpoint_url, enforced.region, "sqs", other).send_message(
            QueueUrl=enforced.queue_url, MessageBody="forged"
        )
