"""IAM enforcement in the sandbox: moto's for its services, the same evaluation for our Flink API.

Each test turns enforcement on in the shared sandbox and off again afterwards; the bootstrap
user `sandbox-admin` (info()["admin"]) makes what the test needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, create_user, execution_role

Aws = Callable[..., Any]
ROLE = "arn:aws:iam::123456789012:role/flink/flink-execution"
TRUST_ANYONE_IN_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@pytest.fixture
def enforced(fresh_sandbox: Sandbox) -> Iterator[Sandbox]:
    fresh_sandbox.set_enforce_iam(True)
    try:
        yield fresh_sandbox
    finally:
        fresh_sandbox.set_enforce_iam(False)


@pytest.fixture
def admin(enforced: Sandbox) -> Aws:
    keys = enforced.info()["admin"]
    credentials = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])

    def make(service: str) -> Any:
        return client(enforced.endpoint_url, enforced.region, service, credentials)

    assert execution_role(make("iam")) == ROLE  # CreateApplication needs a trusting role
    return make


@pytest.fixture
def user_with(enforced: Sandbox, admin: Aws) -> Callable[[str], Aws]:
    """user_with(policy_json) -> a client factory for a new IAM user holding only that policy."""

    def make(document: str) -> Aws:
        iam = admin("iam")
        credentials = create_user(iam)
        name = credentials.arn.rsplit("/", 1)[-1]
        iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=document)
        return lambda service: client(enforced.endpoint_url, enforced.region, service, credentials)

    return make


def code_of(call: Callable[[], Any]) -> str | None:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return None


def create_app(flink: Any, name: str) -> None:
    flink.create_application(
        ApplicationName=name, RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=ROLE
    )


def update(flink: Any, name: str) -> Callable[[], Any]:
    return lambda: flink.update_application(
        ApplicationName=name,
        CurrentApplicationVersionId=1,
        ApplicationConfigurationUpdate={
            "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": False}
        },
    )


def test_describe_only_user_can_describe_but_not_update(
    enforced: Sandbox, admin: Aws, user_with: Callable[[str], Aws]
) -> None:
    create_app(admin("kinesisanalyticsv2"), "guarded")
    flink = user_with(policy(allow("kinesisanalytics:DescribeApplication")))("kinesisanalyticsv2")
    detail = flink.describe_application(ApplicationName="guarded")["ApplicationDetail"]
    assert detail["ApplicationVersionId"] == 1
    with pytest.raises(ClientError) as raised:
        update(flink, "guarded")()
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert (
        "kinesisanalytics:UpdateApplication on resource: arn:aws:kinesisanalytics:"
        in (error["Message"])
    )
    assert code_of(flink.list_applications) == "AccessDeniedException"
    # Denied before the backend acted: no new version, and the call record says so.
    detail = flink.describe_application(ApplicationName="guarded")["ApplicationDetail"]
    assert detail["ApplicationVersionId"] == 1
    denied = [c for c in enforced.calls() if c.operation == "UpdateApplication"]
    assert [c.error_code for c in denied] == ["AccessDeniedException"]


def test_flink_policies_are_evaluated_on_the_application_arn(
    enforced: Sandbox, admin: Aws, user_with: Callable[[str], Aws]
) -> None:
    for name in ("mine", "theirs"):
        create_app(admin("kinesisanalyticsv2"), name)
    arn = f"arn:aws:kinesisanalytics:{enforced.region}:{enforced.account_id}:application/mine"
    flink = user_with(policy(allow("kinesisanalytics:UpdateApplication", arn)))(
        "kinesisanalyticsv2"
    )
    assert code_of(update(flink, "mine")) is None
    assert code_of(update(flink, "theirs")) == "AccessDeniedException"


def test_an_explicit_deny_wins(
    enforced: Sandbox, admin: Aws, user_with: Callable[[str], Aws]
) -> None:
    create_app(admin("kinesisanalyticsv2"), "locked")
    document = policy(
        allow("kinesisanalytics:*"),
        {"Effect": "Deny", "Action": "kinesisanalytics:UpdateApplication", "Resource": "*"},
    )
    flink = user_with(document)("kinesisanalyticsv2")
    assert code_of(lambda: flink.describe_application(ApplicationName="locked")) is None
    assert code_of(update(flink, "locked")) == "AccessDeniedException"


def test_iam_and_sqs_calls_are_allowed_or_denied_per_policy(
    enforced: Sandbox, admin: Aws, user_with: Callable[[str], Aws]
) -> None:
    queue_arn = f"arn:aws:sqs:{enforced.region}:{enforced.account_id}:flink-remediator-events"
    aws = user_with(
        policy(
            allow(["iam:GetRole", "iam:ListRoles"]),
            allow(["sqs:ReceiveMessage", "sqs:GetQueueAttributes"], queue_arn),
        )
    )
    admin("iam").create_role(
        RoleName="app-role", AssumeRolePolicyDocument=json.dumps(TRUST_ANYONE_IN_ACCOUNT)
    )
    iam, sqs = aws("iam"), aws("sqs")
    assert code_of(lambda: iam.get_role(RoleName="app-role")) is None
    assert code_of(
        lambda: iam.update_assume_role_policy(RoleName="app-role", PolicyDocument=policy())
    ) == ("AccessDenied")
    assert code_of(lambda: iam.create_role(RoleName="x", AssumeRolePolicyDocument="{}")) == (
        "AccessDenied"
    )
    assert code_of(lambda: sqs.receive_message(QueueUrl=enforced.queue_url)) is None
    # Another queue of the account, and a write on the allowed one: denied (JSON protocol).
    assert code_of(lambda: sqs.receive_message(QueueUrl=enforced.dlq_url)) == "AccessDenied"
    assert code_of(lambda: sqs.send_message(QueueUrl=enforced.queue_url, MessageBody="x")) == (
        "AccessDenied"
    )


def test_security_hub_imports_are_authorized_on_each_findings_product(
    enforced: Sandbox, admin: Aws, user_with: Callable[[str], Aws]
) -> None:
    region, account = enforced.region, enforced.account_id
    admin("securityhub").enable_security_hub()
    own = f"arn:aws:securityhub:{region}:{account}:product/{account}/default"
    other = f"arn:aws:securityhub:{region}:210987654321:product/210987654321/default"
    hub = user_with(
        policy(
            allow("securityhub:BatchImportFindings", own),
            allow("securityhub:GetFindings", f"arn:aws:securityhub:{region}:{account}:hub/default"),
        )
    )("securityhub")

    def finding(product: str) -> dict[str, Any]:
        return {
            "SchemaVersion": "2018-10-08",
            "Id": f"f-{product[-30:]}",
            "ProductArn": product,
            "GeneratorId": "flink-remediator",
            "AwsAccountId": product.split(":")[4],
            "Types": ["Software and Configuration Checks"],
            "CreatedAt": "2026-12-01T00:00:00Z",
            "UpdatedAt": "2026-12-01T00:00:00Z",
            "Severity": {"Label": "HIGH"},
            "Title": "t",
            "Description": "d",
            "Resources": [{"Type": "Other", "Id": "x"}],
        }

    assert code_of(lambda: hub.batch_import_findings(Findings=[finding(own)])) is None
    assert code_of(lambda: hub.get_findings()) is None
    # One finding of a product the policy does not name: the whole call is refused.
    denied = code_of(lambda: hub.batch_import_findings(Findings=[finding(own), finding(other)]))
    assert denied == "AccessDeniedException"  # as Security Hub names it
    assert code_of(lambda: hub.update_findings(Filters={}, Note={"Text": "x", "UpdatedBy": "y"}))


def test_unknown_keys_and_bad_signatures_are_rejected(enforced: Sandbox, admin: Aws) -> None:
    stranger = Credentials("AKIAUNKNOWN000000000", "nope")
    flink = client(enforced.endpoint_url, enforced.region, "kinesisanalyticsv2", stranger)
    iam = client(enforced.endpoint_url, enforced.region, "iam", stranger)
    assert code_of(flink.list_applications) == "UnrecognizedClientException"
    assert code_of(iam.list_roles) == "InvalidClientTokenId"
    forged = Credentials(enforced.info()["admin"]["aws_access_key_id"], "not-the-secret")
    flink = client(enforced.endpoint_url, enforced.region, "kinesisanalyticsv2", forged)
    assert code_of(flink.list_applications) == "InvalidSignatureException"


def test_assumed_role_sessions_get_the_role_policies(enforced: Sandbox, admin: Aws) -> None:
    iam = admin("iam")
    caller = create_user(iam)
    # moto matches trust policy principals by exact ARN (an account root principal never matches).
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": caller.arn}, "Action": "sts:AssumeRole"}
        ],
    }
    role_arn = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    iam.put_role_policy(
        RoleName="reader",
        PolicyName="read",
        PolicyDocument=policy(allow("kinesisanalytics:ListApplications")),
    )
    iam.put_user_policy(
        UserName=caller.arn.rsplit("/", 1)[-1],
        PolicyName="assume",
        PolicyDocument=policy(allow("sts:AssumeRole", role_arn)),
    )
    sts = client(enforced.endpoint_url, enforced.region, "sts", caller)
    keys = sts.assume_role(RoleArn=role_arn, RoleSessionName="reader-session")["Credentials"]
    session = Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    flink = client(enforced.endpoint_url, enforced.region, "kinesisanalyticsv2", session)
    assert code_of(flink.list_applications) is None
    assert code_of(lambda: create_app(flink, "nope")) == "AccessDeniedException"


def test_reset_keeps_enforcement_and_the_bootstrap_working(enforced: Sandbox, admin: Aws) -> None:
    enforced.reset()
    assert enforced.info()["enforce_iam"] is True
    sqs = admin("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=enforced.queue_url, AttributeNames=["All"])
    assert "RedrivePolicy" in attributes["Attributes"]
    dummy = client(enforced.endpoint_url, enforced.region, "sqs")
    assert code_of(lambda: dummy.list_queues()) == "InvalidClientTokenId"


@pytest.mark.e2e
def test_serve_enforce_iam_demo_seeds_and_enforces() -> None:
    command = ["sandbox", "serve", "--port", "0", "--demo", "--enforce-iam"]
    process = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line, process.stderr.read() if process.stderr else "no output"
        info = json.loads(line)
        assert info["enforce_iam"] is True and info["applications"]

        def as_principal(keys: dict[str, str], service: str) -> Any:
            credentials = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])
            return client(info["endpoint_url"], info["region"], service, credentials)

        admin_flink = as_principal(info["admin"], "kinesisanalyticsv2")
        names = {
            a["ApplicationName"] for a in admin_flink.list_applications()["ApplicationSummaries"]
        }
        assert names == set(info["applications"])
        # The demo users hold no policies: under enforcement they may do nothing yet.
        actor_flink = as_principal(info["principals"]["actor"], "kinesisanalyticsv2")
        assert code_of(actor_flink.list_applications) == "AccessDeniedException"
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0
