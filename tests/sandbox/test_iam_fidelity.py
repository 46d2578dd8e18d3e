"""`--enforce-iam` over HTTP with every policy type AWS evaluates: SCPs set through the
Organizations API, permissions boundaries, session policies (AssumeRole Policy and PolicyArns),
queue policies, policy variables and the IAM condition keys per action."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, scp_on
from tests.sandbox.test_enforce_iam import (  # noqa: F401 (fixtures)
    admin,
    allow,
    code_of,
    enforced,
    policy,
    user_with,
)

Aws = Callable[..., Any]
ACCOUNT = "123456789012"


def trusting(principal_arn: str) -> str:
    return policy(
        {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}
    )


def session(enforced: Sandbox, admin: Aws, **assume: Any) -> Aws:  # noqa: F811
    """A role `worker` (SQS and Logs allowed) assumed by the admin, with `assume` passed."""
    iam = admin("iam")
    admin_arn = enforced.info()["admin"]["arn"]
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=trusting(admin_arn))
    iam.put_role_policy(
        RoleName="worker",
        PolicyName="work",
        PolicyDocument=policy(allow(["sqs:*", "logs:*", "iam:GetRole"])),
    )
    keys = admin("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/worker", RoleSessionName="s1", **assume
    )["Credentials"]
    credentials = Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    return lambda service: client(enforced.endpoint_url, enforced.region, service, credentials)


def test_an_scp_deny_stops_what_identity_policies_allow(
    enforced: Sandbox,  # noqa: F811
    admin: Aws,  # noqa: F811
    user_with: Callable[[str], Aws],  # noqa: F811
) -> None:
    sqs = user_with(policy(allow("sqs:*")))("sqs")
    assert code_of(lambda: sqs.get_queue_attributes(QueueUrl=enforced.queue_url)) is None
    deny_purge = {"Effect": "Deny", "Action": "sqs:PurgeQueue", "Resource": "*"}
    scp_on(enforced.endpoint_url, enforced.region, ACCOUNT, policy(deny_purge))
    try:
        sqs.purge_queue(QueueUrl=enforced.queue_url)
    except sqs.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"
        assert "explicit deny in a service control policy" in error.response["Error"]["Message"]
    else:
        raise AssertionError("the SCP did not deny PurgeQueue")
    assert code_of(lambda: sqs.get_queue_attributes(QueueUrl=enforced.queue_url)) is None


def management(enforced: Sandbox, service: str) -> Any:  # noqa: F811
    keys = enforced.info()["organization"]
    credentials = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])
    return client(enforced.endpoint_url, enforced.region, service, credentials)


def test_scps_of_every_level_must_allow_and_spare_the_management_account(
    enforced: Sandbox,  # noqa: F811
    admin: Aws,  # noqa: F811
    user_with: Callable[[str], Aws],  # noqa: F811
) -> None:
    scp_on(enforced.endpoint_url, enforced.region, ACCOUNT, policy(allow("logs:*")))
    aws = user_with(policy(allow(["sqs:*", "logs:*"])))
    # FullAWSAccess is attached to the account too: SQS still allowed at every level.
    assert code_of(lambda: aws("sqs").get_queue_attributes(QueueUrl=enforced.queue_url)) is None
    org = management(enforced, "organizations")
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ACCOUNT)
    # Now the account level allows only Logs.
    assert code_of(lambda: aws("sqs").get_queue_attributes(QueueUrl=enforced.queue_url)) == (
        "AccessDenied"
    )
    assert code_of(lambda: aws("logs").create_log_group(logGroupName="g")) is None
    # A Deny on the root reaches every member, never the management account's principals.
    root = org.list_roots()["Roots"][0]["Id"]
    deny_logs = org.create_policy(
        Name="no-logs",
        Description="",
        Type="SERVICE_CONTROL_POLICY",
        Content=policy({"Effect": "Deny", "Action": "logs:*", "Resource": "*"}),
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=deny_logs, TargetId=root)
    assert code_of(lambda: aws("logs").create_log_group(logGroupName="h")) == (
        "AccessDeniedException"
    )
    assert code_of(lambda: management(enforced, "logs").create_log_group(logGroupName="m")) is None


def test_a_permissions_boundary_limits_the_role(
    enforced: Sandbox,  # noqa: F811
    admin: Aws,  # noqa: F811
) -> None:
    aws = session(enforced, admin)
    assert code_of(lambda: aws("sqs").get_queue_attributes(QueueUrl=enforced.queue_url)) is None
    iam = admin("iam")
    bound = iam.create_policy(PolicyName="logs-only", PolicyDocument=policy(allow("logs:*")))
    iam.put_role_permissions_boundary(RoleName="worker", PermissionsBoundary=bound["Policy"]["Arn"])
    assert code_of(lambda: aws("sqs").get_queue_attributes(QueueUrl=enforced.queue_url)) == (
        "AccessDenied"
    )
    assert code_of(lambda: aws("logs").create_log_group(logGroupName="bounded")) is None


def test_session_policies_limit_the_session(
    enforced: Sandbox,  # noqa: F811
    admin: Aws,  # noqa: F811
) -> None:
    logs = admin("iam").create_policy(
        PolicyName="session-logs", PolicyDocument=policy(allow("logs:*"))
    )["Policy"]["Arn"]
    inline = session(enforced, admin, Policy=policy(allow("logs:CreateLogGroup")))
    assert code_of(lambda: inline("logs").create_log_group(logGroupName="a")) is None
    assert code_of(lambda: inline("sqs").get_queue_attributes(QueueUrl=enforced.queue_url)) == (
        "AccessDenied"
    )
    keys = admin("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/worker",
        RoleSessionName="s2",
        PolicyArns=[{"arn": logs}],
    )["Credentials"]
    credentials = Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    managed = client(enforced.endpoint_url, enforced.region, "sqs", credentials)
    assert code_of(lambda: managed.get_queue_attributes(QueueUrl=enforced.queue_url)) == (
        "AccessDenied"
    )


def test_a_queue_policy_denies_and_grants_in_the_same_account(
    enforced: Sandbox,  # noqa: F811
    admin: Aws,  # noqa: F811
    user_with: Callable[[str], Aws],  # noqa: F811
) -> None:
    queue_arn = f"arn:aws:sqs:{enforced.region}:{ACCOUNT}:flink-remediator-events"
    reader = user_with(policy(allow("sqs:*")))("sqs")
    nothing = user_with(policy(allow("logs:*")))
    nobody_arn = nothing("sts").get_caller_identity()["Arn"]
    statements = [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:PurgeQueue",
            "Resource": queue_arn,
        },
        {
            "Effect": "Allow",
            "Principal": {"AWS": nobody_arn},
            "Action": "sqs:GetQueueAttributes",
            "Resource": queue_arn,
        },
    ]
    admin("sqs").set_queue_attributes(
        QueueUrl=enforced.queue_url,
        Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": statements})},
    )
    assert code_of(lambda: reader.purge_queue(QueueUrl=enforced.queue_url)) == "AccessDenied"
    # A same-account queue policy naming the user grants without any identity policy.
    assert code_of(lambda: nothing("sqs").get_queue_attributes(QueueUrl=enforced.queue_url)) is (
        None
    )
    assert code_of(lambda: nothing("sqs").receive_message(QueueUrl=enforced.queue_url)) == (
        "AccessDenied"
    )


def test_policy_variables_and_condition_keys_per_action(
    enforced: Sandbox,  # noqa: F811
    admin: Aws,  # noqa: F811
    user_with: Callable[[str], Aws],  # noqa: F811
) -> None:
    iam = admin("iam")
    iam.create_role(
        RoleName="bounded", AssumeRolePolicyDocument=trusting(f"arn:aws:iam::{ACCOUNT}:root")
    )
    bound = iam.create_policy(PolicyName="b", PolicyDocument=policy(allow("logs:*")))["Policy"]
    iam.put_role_permissions_boundary(RoleName="bounded", PermissionsBoundary=bound["Arn"])
    own_name = {
        "Effect": "Allow",
        "Action": "iam:GetUser",
        "Resource": f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}",
    }
    # PutRolePolicy takes the role's existing boundary as iam:PermissionsBoundary (SAR), and
    # not iam:PolicyARN: a condition on iam:PolicyARN can never hold for it.
    put_bounded = {
        **allow("iam:PutRolePolicy"),
        "Condition": {"ArnEquals": {"iam:PermissionsBoundary": bound["Arn"]}},
    }
    put_by_policy_arn = {
        **allow("iam:PutRolePolicy"),
        "Condition": {"ArnLike": {"iam:PolicyARN": "*"}},
    }
    aws = user_with(policy(own_name, put_bounded))
    me = aws("sts").get_caller_identity()["Arn"].rsplit("/", 1)[-1]
    assert code_of(lambda: aws("iam").get_user(UserName=me)) is None
    assert code_of(lambda: aws("iam").get_user(UserName="sandbox-admin")) == "AccessDenied"
    document = policy(allow("logs:CreateLogGroup"))
    put = aws("iam").put_role_policy
    assert code_of(lambda: put(RoleName="bounded", PolicyName="p", PolicyDocument=document)) is (
        None
    )
    other = user_with(policy(put_by_policy_arn))("iam")
    assert code_of(
        lambda: other.put_role_policy(RoleName="bounded", PolicyName="p", PolicyDocument=document)
    ) == ("AccessDenied")


def test_date_and_ip_conditions_over_http(
    enforced: Sandbox,  # noqa: F811
    admin: Aws,  # noqa: F811
    user_with: Callable[[str], Aws],  # noqa: F811
) -> None:
    """aws:CurrentTime follows the sandbox clock; aws:SourceIp is loopback."""
    from sandbox.testing import advance_clock

    until = "2100-01-01T00:00:00Z"
    timed = {
        **allow("sqs:GetQueueAttributes"),
        "Condition": {"DateLessThan": {"aws:CurrentTime": until}},
    }
    local = {
        **allow("sqs:ReceiveMessage"),
        "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
    }
    elsewhere = {
        **allow("sqs:SendMessage"),
        "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
    }
    sqs = user_with(policy(timed, local, elsewhere))("sqs")
    assert code_of(lambda: sqs.get_queue_attributes(QueueUrl=enforced.queue_url)) is None
    assert code_of(lambda: sqs.receive_message(QueueUrl=enforced.queue_url)) is None
    assert code_of(lambda: sqs.send_message(QueueUrl=enforced.queue_url, MessageBody="x")) == (
        "AccessDenied"
    )
    advance_clock(enforced.endpoint_url, 80 * 365 * 86400)  # past 2100
    assert code_of(lambda: sqs.get_queue_attributes(QueueUrl=enforced.queue_url)) == (
        "AccessDenied"
    )
