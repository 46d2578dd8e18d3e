"""One-line errors with documented exit codes, checked on the real process (docs/running.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.commands import exits
from tests.harness import pinned_environ

CLI = [sys.executable, "-m", "daemon.cli"]
EXAMPLE = str(Path(__file__).resolve().parents[2] / "config" / "desired-state.example.yaml")
NO_AWS = pinned_environ()  # no keys, no Region, no endpoint, no ~/.aws


def cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *argv], capture_output=True, text=True, env=env or NO_AWS, timeout=60
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("flink-remediator ")


def test_closed_stdout_is_quiet() -> None:
    # `schema | head` where head has already gone: the write meets a closed pipe.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [*CLI, "schema"], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (exits.BROKEN_PIPE, "")


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "--config", "c.yaml", "--queue", "https://sqs.eu-west-1.amazonaws.com/1/q"),
        ("plan", "--conf", "c.yaml"),
        ("iam-policy", "--config", "c.yaml", "--queue", "arn:aws:sqs:eu-west-1:1:q"),
    ],
)
def test_flag_prefixes_are_not_accepted(argv: tuple[str, ...]) -> None:
    result = cli(*argv)
    assert result.returncode == exits.USAGE
    assert "unrecognized arguments" in result.stderr or "required" in result.stderr


def test_iam_policy_refuses_a_queue_arn_that_is_not_one() -> None:
    result = cli("iam-policy", "--config", EXAMPLE, "--queue-arn", "notanarn")
    assert result.returncode == exits.USAGE
    assert "--queue-arn: not an SQS queue ARN: 'notanarn'" in one_error_line(result)
    assert result.stdout == ""


def test_apply_refuses_a_negative_wait() -> None:
    result = cli("apply", "--config", EXAMPLE, "--wait-seconds", "-5")
    assert result.returncode == exits.USAGE
    assert "--wait-seconds: -5.0 is negative" in one_error_line(result)


def test_replay_of_a_file_that_is_not_events_names_file_and_line(tmp_path: Path) -> None:
    csv = tmp_path / "trail.csv"
    csv.write_text("eventName,actor\nUpdateApplication,alice\n")
    result = cli("replay", str(csv), "--config", EXAMPLE)
    assert result.returncode == exits.ERROR
    assert one_error_line(result).startswith(f"error: {csv}:1: not JSON")


def test_no_credentials_fail_fast_with_one_line() -> None:
    result = cli("run", "--config", EXAMPLE, "--metrics-port", "1", "--region", "eu-west-1")
    assert result.returncode == exits.UNAVAILABLE
    assert "no AWS credentials found" in one_error_line(result)


@pytest.mark.parametrize("command", ["run", "plan"])
def test_unreachable_aws_fails_fast_with_one_line(command: str) -> None:
    env = NO_AWS | {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # discard port: nothing listens
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "eu-west-1",
    }
    result = cli(command, "--config", EXAMPLE, env=env)
    assert result.returncode == exits.UNAVAILABLE
    line = one_error_line(result)
    assert "cannot reach AWS STS in eu-west-1 (EndpointConnectionError)" in line


@pytest.mark.parametrize("command", ["run", "plan"])
def test_unknown_region_in_the_environment_is_refused(command: str) -> None:
    result = cli(command, "--config", EXAMPLE, env=NO_AWS | {"AWS_REGION": "eu-wset-1"})
    assert result.returncode == exits.USAGE
    assert "AWS_REGION: 'eu-wset-1' is not an AWS Region" in one_error_line(result)


def test_unknown_region_in_the_config_fails_validate(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text('version: 1\naccounts: ["123456789012"]\nregions: [eu-west-1, eu-wset-1]\n')
    result = cli("validate", str(config))
    assert result.returncode == exits.ERROR
    assert f"{config}:3: regions[1]: 'eu-wset-1' is not an AWS Region" in result.stdout
    assert "did you mean eu-west-1?" in result.stdout
