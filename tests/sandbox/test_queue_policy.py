"""The event queue's policy under IAM enforcement, as hub.yaml writes it: only the project's
EventBridge rules (and the Scheduler role that sends sweep ticks) may send to the queue; any
other principal is denied sqs:SendMessage even when its own policy allows it, while the real
CloudTrail -> EventBridge delivery still arrives."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from sandbox.eventbridge import SCHEDULER_ROLE
from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, create_user, receive_envelopes

SEND_ANYWHERE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["sqs:*", "iam:TagRole"], "Resource": "*"}],
}
ENVELOPE = json.dumps({"detail-type": "AWS API Call via CloudTrail", "source": "aws.iam"})


@pytest.fixture
def enforced(fresh_sandbox: Sandbox) -> Iterator[tuple[Sandbox, Credentials]]:
    fresh_sandbox.set_enforce_iam(True)
    keys = fresh_sandbox.info()["admin"]
    admin = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])
    try:
        yield fresh_sandbox, admin
    finally:
        fresh_sandbox.set_enforce_iam(False)


def denied(sqs: object, queue_url: str) -> str:
    try:
        sqs.send_message(QueueUrl=queue_url, MessageBody=ENVELOPE)  # type: ignore[attr-defined]
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "sent"


def test_only_the_rules_and_the_scheduler_role_may_send(
    enforced: tuple[Sandbox, Credentials],
) -> None:
    sandbox, admin = enforced
    iam = client(sandbox.endpoint_url, sandbox.region, "iam", admin)
    intruder = create_user(iam)
    iam.put_user_policy(
        UserName=intruder.arn.rsplit("/", 1)[-1],
        PolicyName="everything-sqs",
        PolicyDocument=json.dumps(SEND_ANYWHERE),
    )
    sqs = client(sandbox.endpoint_url, sandbox.region, "sqs", intruder)
    assert denied(sqs, sandbox.queue_url) == "AccessDenied"
    # Admin too: the Deny names every principal but the rules and the Scheduler role.
    admin_sqs = client(sandbox.endpoint_url, sandbox.region, "sqs", admin)
    assert denied(admin_sqs, sandbox.queue_url) == "AccessDenied"
    other = sqs.create_queue(QueueName="someone-elses")["QueueUrl"]
    assert denied(sqs, other) == "sent"  # the deny is the event queue's, not the user's

    # The Scheduler's role (a role session: no aws:SourceArn) is let through by its ARN.
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{sandbox.account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName=SCHEDULER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=SCHEDULER_ROLE, PolicyName="send", PolicyDocument=json.dumps(SEND_ANYWHERE)
    )
    sandbox.set_enforce_iam(False)  # moto's STS does not evaluate trust policies: bypass it
    keys = client(sandbox.endpoint_url, sandbox.region, "sts", admin).assume_role(
        RoleArn=f"arn:aws:iam::{sandbox.account_id}:role/{SCHEDULER_ROLE}", RoleSessionName="tick"
    )["Credentials"]
    sandbox.set_enforce_iam(True)
    session = Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    scheduler = client(sandbox.endpoint_url, sandbox.region, "sqs", session)
    assert denied(scheduler, sandbox.queue_url) == "sent"

    # A real change still travels CloudTrail -> EventBridge rule -> queue.
    receive_envelopes(admin_sqs, sandbox.queue_url)
    iam.tag_role(RoleName=SCHEDULER_ROLE, Tags=[{"Key": "k", "Value": "v"}])
    iam.update_assume_role_policy(RoleName=SCHEDULER_ROLE, PolicyDocument=json.dumps(trust))
    names = [
        e["detail"]["eventName"]
        for e in receive_envelopes(admin_sqs, sandbox.queue_url, wait_seconds=10, expect=1)
    ]
    assert "UpdateAssumeRolePolicy" in names
