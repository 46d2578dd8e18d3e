"""`flink-remediator sandbox serve --demo` as a real process: one JSON line, a usable account,
clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import boto3
import pytest

from sandbox.demo import DEMO_APPS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served() -> Any:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daemon.cli",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--demo",
            "--transition-seconds",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line, process.stderr.read() if process.stderr else "no output"
        yield process, json.loads(line)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_prints_one_json_line_with_the_account(served: Any) -> None:
    _, info = served
    for key in ("endpoint_url", "queue_url", "dlq_url", "region", "account_id"):
        assert info[key]
    assert info["endpoint_url"].startswith("http://127.0.0.1:")
    assert set(info["principals"]) == {"daemon", "actor"}
    assert info["principals"]["daemon"]["user_name"] == "flink-remediator"


def test_a_client_with_aws_endpoint_url_describes_the_demo_apps(
    served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, info = served
    actor = info["principals"]["actor"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", info["endpoint_url"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", info["region"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", actor["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", actor["aws_secret_access_key"])
    flink = boto3.session.Session().client("kinesisanalyticsv2")
    details = {
        app.name: flink.describe_application(ApplicationName=app.name)["ApplicationDetail"]
        for app in DEMO_APPS
    }
    assert details["payments-enricher"]["CloudWatchLoggingOptionDescriptions"][0][
        "LogStreamARN"
    ].endswith(
        ":log-group:/aws/kinesis-analytics/payments-enricher:log-stream:"
        "kinesis-analytics-log-stream"
    )
    assert details["fraud-scorer"]["CloudWatchLoggingOptionDescriptions"] == []
    risk_vpc = details["risk-aggregator"]["ApplicationConfigurationDescription"][
        "VpcConfigurationDescriptions"
    ][0]
    assert risk_vpc["SubnetIds"] == [info["network"]["private_subnet_id"]]
    assert details["clickstream-sessionizer"]["ApplicationStatus"] == "RUNNING"
    # The seeding left no events behind, and the actor's keys are who the account says.
    sqs = boto3.session.Session().client("sqs")
    assert "Messages" not in sqs.receive_message(QueueUrl=info["queue_url"])
    sts = boto3.session.Session().client("sts")
    assert sts.get_caller_identity()["Arn"] == actor["arn"]


def test_sigterm_exits_zero_with_nothing_else_on_stdout(served: Any) -> None:
    process, _ = served
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert process.stdout is not None and process.stdout.read() == ""


def test_the_console_script_is_installed() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "flink-remediator")
    result = subprocess.run(
        [script, "sandbox", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--demo" in result.stdout and "--transition-seconds" in result.stdout


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--duplicate-probability", "2"),
        ("--delivery-delay-seconds", "-1"),
        ("--iam-read-lag-seconds", "99999"),
    ],
)
def test_bad_delivery_flags_exit_2_with_one_error_line(flag: str, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "sandbox", "serve", "--port", "0", flag, value],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
