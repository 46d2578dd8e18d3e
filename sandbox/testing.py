"""Helpers for tests that run against a sandbox (used by tests/conftest.py and test modules)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

# No retries: a test must see the first answer, and errors must surface at once.
# One request per call: botocore's `max_attempts` counts retries, `total_max_attempts` requests.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    arn: str = ""


DUMMY = Credentials("testing", "testing")


def client(endpoint_url: str, region: str, service: str, credentials: Credentials = DUMMY) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
        config=NO_RETRIES,
    )


def create_user(iam: Any, user_name: str | None = None) -> Credentials:
    """An IAM user of the sandbox with an access key."""
    name = user_name or f"user-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"], arn=arn)


def receive_envelopes(
    sqs: Any, queue_url: str, wait_seconds: float = 0.0, expect: int | None = None
) -> list[dict[str, Any]]:
    """Receive (and delete) every message now on the queue, parsed as JSON envelopes.

    Delivery is synchronous unless the sandbox was asked to delay it; `expect` keeps polling
    up to `wait_seconds` until that many arrived.
    """
    envelopes: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait_seconds
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        for message in messages:
            envelopes.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        done = expect is not None and len(envelopes) >= expect
        if done or (not messages and time.monotonic() >= deadline):
            return envelopes


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll until `condition()` holds; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def wait_for_status(flink: Any, name: str, status: str, timeout: float = 10.0) -> None:
    def reached() -> bool:
        detail = flink.describe_application(ApplicationName=name)["ApplicationDetail"]
        return bool(detail["ApplicationStatus"] == status)

    wait_for(reached, timeout)


FLINK_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "kinesisanalytics.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def execution_role(iam: Any, name: str = "flink-execution", path: str = "/flink/") -> str:
    """The ARN of an IAM role Managed Flink may assume (created unless it exists): the sandbox,
    like the service, rejects CreateApplication with a missing or untrusting role. Under a
    path, as the desired state's `execution_roles.path` requires."""
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(
            iam.create_role(
                RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(FLINK_TRUST_POLICY)
            )["Role"]["Arn"]
        )


def flink_key(kms: Any, alias: str | None = None) -> str:
    """The ARN of a new KMS key whose policy lets Managed Flink use it (both service principals
    the documentation names, as the sandbox checks) and enables IAM policies of its account (the
    default key policy's statement); `alias` e.g. "alias/flink"."""
    arn = str(kms.create_key()["KeyMetadata"]["Arn"])
    account = arn.split(":")[4]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "managed-flink",
                "Effect": "Allow",
                "Principal": {
                    "Service": [
                        "kinesisanalytics.amazonaws.com",
                        "infrastructure.kinesisanalytics.amazonaws.com",
                    ]
                },
                "Action": [
                    "kms:DescribeKey",
                    "kms:Decrypt",
                    "kms:GenerateDataKey",
                    "kms:CreateGrant",
                ],
                "Resource": "*",
            },
        ],
    }
    kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps(policy))
    if alias:
        kms.create_alias(AliasName=alias, TargetKeyId=arn)
    return arn


def control(endpoint_url: str, path: str, **body: Any) -> dict[str, Any]:
    """POST a JSON body to a /_sandbox/ control endpoint; RuntimeError on an error answer."""
    request = urllib.request.Request(
        endpoint_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{path}: {exc.code} {exc.read().decode()}") from None


def advance_clock(endpoint_url: str, seconds: float) -> None:
    control(endpoint_url, "/_sandbox/clock", advance=seconds)


def next_update(endpoint_url: str, application: str, outcome: str, seconds: float) -> None:
    control(
        endpoint_url,
        "/_sandbox/flink/next-update",
        application=application,
        outcome=outcome,
        seconds=seconds,
    )


def hold_status(
    endpoint_url: str, application: str, status: str, seconds: float, **more: Any
) -> None:
    """`more`: e.g. parallelism=4 (CurrentParallelism at the end of AUTOSCALING)."""
    control(
        endpoint_url,
        "/_sandbox/flink/status",
        application=application,
        status=status,
        seconds=seconds,
        **more,
    )


def delay_delivery(endpoint_url: str, **settings: float) -> dict[str, Any]:
    """Set the CloudTrail event delivery (delay_seconds, jitter_seconds, duplicate_probability,
    seed) until the next reset; returns the info JSON."""
    return control(endpoint_url, "/_sandbox/config", delivery=settings)


def scp_on(endpoint_url: str, region: str, account_id: str, document: str | dict[str, Any]) -> str:
    """Attach `document` as an SCP to `account_id`, as its organization's management account
    does through the Organizations API (the organization, the SCP policy type and the account's
    membership made first when missing); returns the policy id."""
    info = json.loads(urllib.request.urlopen(endpoint_url + "/_sandbox/info", timeout=10).read())
    keys = info["organization"]
    org = boto3.client(
        "organizations",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=keys["aws_access_key_id"],
        aws_secret_access_key=keys["aws_secret_access_key"],
    )
    try:
        org.describe_organization()
    except org.exceptions.AWSOrganizationsNotInUseException:
        org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]
    if not any(t["Type"] == "SERVICE_CONTROL_POLICY" for t in root.get("PolicyTypes", [])):
        org.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    control(endpoint_url, "/_sandbox/organization/accounts", account_id=account_id)
    policy_id = str(
        org.create_policy(
            Name=f"scp-{uuid.uuid4().hex[:8]}",
            Description="set by a test",
            Type="SERVICE_CONTROL_POLICY",
            Content=document if isinstance(document, str) else json.dumps(document),
        )["Policy"]["PolicySummary"]["Id"]
    )
    org.attach_policy(PolicyId=policy_id, TargetId=account_id)
    return policy_id


def pending_deliveries(endpoint_url: str) -> list[dict[str, Any]]:
    """Events not delivered yet (GET /_sandbox/deliveries), soonest first."""
    with urllib.request.urlopen(endpoint_url + "/_sandbox/deliveries", timeout=10) as response:
        pending: list[dict[str, Any]] = json.loads(response.read())["pending"]
    return pending
