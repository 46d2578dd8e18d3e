"""The fault layer in front of the sandbox, driven over HTTP (POST/GET/DELETE /_sandbox/faults)
and observed the way the daemon would: boto3 with botocore retries off, error codes as botocore
parses them, the sandbox's call record for what reached the backend."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError

from sandbox import wire
from sandbox.faults import FaultRuleError, parse_rules
from sandbox.faults.rules import MAX_HANG_SECONDS
from sandbox.server import Sandbox
from sandbox.testing import wait_for

ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})
TRUST = json.dumps({"Version": "2012-10-17", "Statement": []})


def client(sandbox: Sandbox, service: str, config: Config = ONE_ATTEMPT) -> Any:
    return boto3.client(
        service,
        endpoint_url=sandbox.endpoint_url,
        region_name=sandbox.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def faults(sandbox: Sandbox, method: str = "GET", rules: Any = None) -> tuple[int, Any]:
    data = None if rules is None else json.dumps(rules).encode()
    request = urllib.request.Request(
        f"{sandbox.endpoint_url}/_sandbox/faults", data=data, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def install(sandbox: Sandbox, rules: list[dict[str, Any]]) -> None:
    status, body = faults(sandbox, "POST", rules)
    assert status == 200, body


def served(sandbox: Sandbox, operation: str) -> list[Any]:
    return [call for call in sandbox.calls() if call.operation == operation]


def error_code(call: Any) -> str | None:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return None


def test_every_nth_with_count_fails_exactly_those_calls_and_counts_them(
    fresh_sandbox: Sandbox,
) -> None:
    install(
        fresh_sandbox,
        [{"kind": "throttle", "service": "iam", "operation": "CreateRole", "every": 2, "count": 2}],
    )
    iam = client(fresh_sandbox, "iam")
    codes = [
        error_code(lambda n=n: iam.create_role(RoleName=f"r{n}", AssumeRolePolicyDocument=TRUST))
        for n in range(6)
    ]
    assert codes == [None, "Throttling", None, "Throttling", None, None]
    assert error_code(iam.list_roles) is None  # another operation is not selected
    report = faults(fresh_sandbox)[1]
    assert report["total"] == 2
    assert report["injected"] == [
        {"kind": "throttle", "service": "iam", "operation": "CreateRole", "count": 2}
    ]
    assert report["rules"][0]["matched"] == 6 and report["rules"][0]["injected"] == 2
    # Throttled requests never reached the backend: 4 CreateRole served, r1 and r3 absent.
    assert len(served(fresh_sandbox, "CreateRole")) == 4
    assert error_code(lambda: iam.get_role(RoleName="r1")) == "NoSuchEntity"


@pytest.mark.parametrize(
    ("service", "call", "throttled", "unavailable"),
    [
        ("iam", lambda c: c.list_roles(), "Throttling", "ServiceUnavailable"),
        ("sts", lambda c: c.get_caller_identity(), "Throttling", "ServiceUnavailable"),
        ("ec2", lambda c: c.describe_vpcs(), "RequestLimitExceeded", "Unavailable"),
        ("sqs", lambda c: c.list_queues(), "RequestThrottled", "ServiceUnavailable"),
        (
            "kinesisanalyticsv2",
            lambda c: c.list_applications(),
            "ThrottlingException",
            "ServiceUnavailableException",
        ),
        (
            "logs",
            lambda c: c.describe_log_groups(),
            "ThrottlingException",
            "ServiceUnavailableException",
        ),
    ],
)
def test_errors_use_the_protocol_and_codes_of_the_service(
    fresh_sandbox: Sandbox, service: str, call: Any, throttled: str, unavailable: str
) -> None:
    aws = client(fresh_sandbox, service)
    for kind, code, status in (("throttle", throttled, 400), ("unavailable", unavailable, 503)):
        install(fresh_sandbox, [{"kind": kind}])
        with pytest.raises(ClientError) as raised:
            call(aws)
        assert raised.value.response["Error"]["Code"] == code
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_sqs_query_protocol_requests_get_query_xml_errors(fresh_sandbox: Sandbox) -> None:
    install(fresh_sandbox, [{"kind": "throttle", "service": "sqs", "operation": "ListQueues"}])
    request = AWSRequest(
        method="POST",
        url=f"{fresh_sandbox.endpoint_url}/",
        data=b"Action=ListQueues&Version=2012-11-05",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    SigV4Auth(Credentials("testing", "testing"), "sqs", fresh_sandbox.region).add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(
        prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(http, timeout=10)
    body = raised.value.read()
    assert raised.value.code == 400
    assert body.startswith(b"<ErrorResponse><Error><Type>Sender</Type>")
    assert wire.error_of(body, {}) == ("RequestThrottled", "Rate exceeded")


def test_a_seeded_probability_injects_exactly_what_its_generator_draws(
    fresh_sandbox: Sandbox,
) -> None:
    install(
        fresh_sandbox, [{"kind": "unavailable", "service": "sts", "probability": 0.3, "seed": 7}]
    )
    sts = client(fresh_sandbox, "sts")
    failed = [error_code(sts.get_caller_identity) is not None for _ in range(40)]
    draws = random.Random(7)
    assert failed == [draws.random() < 0.3 for _ in range(40)]
    assert 0 < sum(failed) < 40
    assert faults(fresh_sandbox)[1]["total"] == sum(failed)


def test_mutating_selector_spares_reads(fresh_sandbox: Sandbox) -> None:
    install(fresh_sandbox, [{"kind": "throttle", "service": "iam", "mutating": True}])
    iam = client(fresh_sandbox, "iam")
    assert error_code(iam.list_roles) is None
    assert error_code(lambda: iam.create_role(RoleName="w", AssumeRolePolicyDocument=TRUST)) == (
        "Throttling"
    )


def test_a_lost_reply_took_effect(fresh_sandbox: Sandbox, make_app: Any) -> None:
    make_app("lost")
    install(fresh_sandbox, [{"kind": "lost_reply", "operation": "UpdateApplication"}])
    flink = client(fresh_sandbox, "kinesisanalyticsv2")
    with pytest.raises(ConnectionClosedError):
        flink.update_application(
            ApplicationName="lost",
            CurrentApplicationVersionId=1,
            ApplicationConfigurationUpdate={
                "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": False}
            },
        )
    detail = flink.describe_application(ApplicationName="lost")["ApplicationDetail"]
    assert detail["ApplicationVersionId"] == 2
    [update] = served(fresh_sandbox, "UpdateApplication")
    assert update.error_code is None and update.mutating
    assert faults(fresh_sandbox)[1]["injected"] == [
        {
            "kind": "lost_reply",
            "service": "kinesisanalytics",
            "operation": "UpdateApplication",
            "count": 1,
        }
    ]


def test_a_lost_reply_as_http_500_also_took_effect(fresh_sandbox: Sandbox) -> None:
    install(fresh_sandbox, [{"kind": "lost_reply", "reply": "error", "operation": "CreateRole"}])
    iam = client(fresh_sandbox, "iam")
    with pytest.raises(ClientError) as raised:
        iam.create_role(RoleName="made", AssumeRolePolicyDocument=TRUST)
    assert raised.value.response["Error"]["Code"] == "InternalFailure"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert iam.get_role(RoleName="made")["Role"]["RoleName"] == "made"


def test_botocore_with_retries_retries_a_lost_reply(fresh_sandbox: Sandbox) -> None:
    install(fresh_sandbox, [{"kind": "lost_reply", "operation": "CreateLogGroup", "count": 1}])
    retrying = Config(retries={"mode": "standard", "total_max_attempts": 2})
    logs = client(fresh_sandbox, "logs", retrying)
    # The first attempt created the group, its reply was lost; botocore re-sent the write.
    with pytest.raises(ClientError) as raised:
        logs.create_log_group(logGroupName="twice")
    assert raised.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    assert len(served(fresh_sandbox, "CreateLogGroup")) == 2


def test_reset_drops_the_connection_without_serving(fresh_sandbox: Sandbox) -> None:
    install(fresh_sandbox, [{"kind": "reset", "service": "iam"}])
    iam = client(fresh_sandbox, "iam")
    with pytest.raises(ConnectionClosedError):
        iam.create_role(RoleName="never", AssumeRolePolicyDocument=TRUST)
    faults(fresh_sandbox, "DELETE")
    assert error_code(lambda: iam.get_role(RoleName="never")) == "NoSuchEntity"
    assert served(fresh_sandbox, "CreateRole") == []


def test_an_outage_fails_everything_selected_until_its_end(fresh_sandbox: Sandbox) -> None:
    now = [1_000_000.0]
    fresh_sandbox.faults.clock = lambda: now[0]
    try:
        install(fresh_sandbox, [{"kind": "outage", "service": "iam", "seconds": 90}])
        iam = client(fresh_sandbox, "iam")
        assert [error_code(iam.list_roles) for _ in range(3)] == ["ServiceUnavailable"] * 3
        assert error_code(client(fresh_sandbox, "sts").get_caller_identity) is None
        now[0] += 89.9
        assert error_code(iam.list_roles) == "ServiceUnavailable"
        now[0] += 0.1
        assert error_code(iam.list_roles) is None
        assert faults(fresh_sandbox)[1]["total"] == 4
    finally:
        fresh_sandbox.faults.clock = time.time


def test_an_outage_until_a_time_ends_when_cleared(fresh_sandbox: Sandbox) -> None:
    install(fresh_sandbox, [{"kind": "outage", "until": "2999-01-01T00:00:00Z"}])
    sts = client(fresh_sandbox, "sts")
    assert error_code(sts.get_caller_identity) == "ServiceUnavailable"
    status, report = faults(fresh_sandbox, "DELETE")
    assert status == 200 and report["rules"] == [] and report["total"] == 1  # counters kept
    assert error_code(sts.get_caller_identity) is None


def test_a_hang_holds_the_request_until_cleared_then_serves_it(fresh_sandbox: Sandbox) -> None:
    install(fresh_sandbox, [{"kind": "hang", "seconds": 120, "operation": "CreateRole"}])
    iam = client(fresh_sandbox, "iam")
    outcome: list[Any] = []
    caller = threading.Thread(
        target=lambda: outcome.append(
            iam.create_role(RoleName="slow", AssumeRolePolicyDocument=TRUST)
        )
    )
    caller.start()
    wait_for(lambda: faults(fresh_sandbox)[1]["total"] == 1)
    assert outcome == [] and served(fresh_sandbox, "CreateRole") == []
    faults(fresh_sandbox, "DELETE")
    caller.join(timeout=30)
    assert outcome[0]["Role"]["RoleName"] == "slow"
    assert len(served(fresh_sandbox, "CreateRole")) == 1


def test_control_api_rejects_bad_rules_with_one_line(fresh_sandbox: Sandbox) -> None:
    status, body = faults(fresh_sandbox, "POST", [{"kind": "throttle"}, {"kind": "explode"}])
    assert status == 400
    assert body["error"].startswith("fault rule 1: field 'kind': must be one of")
    assert "\n" not in body["error"]
    assert faults(fresh_sandbox)[1]["rules"] == []  # nothing installed


def test_control_paths_are_never_faulted_and_reset_forgets_rules(fresh_sandbox: Sandbox) -> None:
    install(fresh_sandbox, [{"kind": "unavailable"}])
    with urllib.request.urlopen(f"{fresh_sandbox.endpoint_url}/_sandbox/info", timeout=10) as r:
        assert r.status == 200
    fresh_sandbox.reset()
    report = faults(fresh_sandbox)[1]
    assert (report["rules"], report["injected"], report["total"]) == ([], [], 0)
    assert error_code(client(fresh_sandbox, "sts").get_caller_identity) is None


def test_posting_rules_zeroes_the_counters(fresh_sandbox: Sandbox) -> None:
    install(fresh_sandbox, [{"kind": "throttle", "service": "sts"}])
    error_code(client(fresh_sandbox, "sts").get_caller_identity)
    assert faults(fresh_sandbox)[1]["total"] == 1
    install(fresh_sandbox, [{"kind": "throttle", "service": "sts", "skip": 1}])
    report = faults(fresh_sandbox)[1]
    assert report["total"] == 0 and report["rules"][0]["skip"] == 1


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"kind": "throttle", "every": 0}, "fault rule 0: field 'every': an integer >= 1"),
        ({"kind": "throttle", "probability": 2}, "fault rule 0: field 'probability': must be"),
        ({"kind": "throttle", "colour": 1}, "fault rule 0: unknown field 'colour'"),
        ({"kind": "outage", "until": "tomorrow"}, "fault rule 0: field 'until'"),
        ({"kind": "lost_reply", "reply": "maybe"}, "fault rule 0: field 'reply'"),
        ({"kind": "throttle", "operation": [1]}, "fault rule 0: field 'operation'"),
    ],
)
def test_rule_errors_name_the_rule_and_field(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(FaultRuleError, match=f"^{message}"):
        parse_rules([rule], now=0.0)


def test_a_hang_is_bounded_and_an_outage_duration_is_anchored_at_installation() -> None:
    hang, outage = parse_rules(
        [{"kind": "hang", "seconds": 10_000}, {"kind": "outage", "seconds": 90}], now=500.0
    )
    assert hang.seconds == MAX_HANG_SECONDS
    assert outage.until == 590.0


def test_deny_answers_access_denied_in_each_protocol_without_serving(
    fresh_sandbox: Sandbox,
) -> None:
    install(fresh_sandbox, [{"kind": "deny"}])
    flink, iam, ec2 = (client(fresh_sandbox, s) for s in ("kinesisanalyticsv2", "iam", "ec2"))
    assert error_code(lambda: flink.list_applications()) == "AccessDeniedException"
    assert error_code(lambda: iam.list_roles()) == "AccessDenied"
    assert error_code(lambda: ec2.describe_vpcs()) == "UnauthorizedOperation"
    assert served(fresh_sandbox, "ListRoles") == []
