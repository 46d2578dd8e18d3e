"""`sandbox env`: export lines for the sandbox answering now, shell-quoted; one-line errors."""

from __future__ import annotations

import shlex

import pytest

from daemon.cli import main
from sandbox.server import Sandbox
from tests.harness import free_port


def test_lines_for_a_sandbox_without_demo_users(
    fresh_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sandbox", "env", "--endpoint-url", fresh_sandbox.endpoint_url])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    exported = dict(shlex.split(line)[1].split("=", 1) for line in lines[:-1])
    assert exported == {
        "AWS_ENDPOINT_URL": fresh_sandbox.endpoint_url,
        "AWS_REGION": fresh_sandbox.region,
        "AWS_DEFAULT_REGION": fresh_sandbox.region,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "FLINK_REMEDIATOR_QUEUE_URL": fresh_sandbox.queue_url,
    }
    assert lines[-1] == "unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE"


def test_seeded_users_are_served_until_reset(fresh_sandbox: Sandbox) -> None:
    principal = {"aws_access_key_id": "AKIA1", "aws_secret_access_key": "a'b c/+"}
    fresh_sandbox.seeded = {"principals": {"daemon": principal}}
    assert fresh_sandbox.info()["principals"]["daemon"] == principal
    fresh_sandbox.reset()
    assert "principals" not in fresh_sandbox.info()


def test_values_are_shell_quoted(
    fresh_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh_sandbox.seeded = {
        "principals": {"daemon": {"aws_access_key_id": "AKIA1", "aws_secret_access_key": "a'b $c"}}
    }
    assert main(["sandbox", "env", "--endpoint-url", fresh_sandbox.endpoint_url]) == 0
    out = capsys.readouterr().out
    assert "export AWS_SECRET_ACCESS_KEY='a'\"'\"'b $c'" in out.splitlines()


def test_unknown_principal_is_a_usage_error(
    fresh_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sandbox", "env", "--as", "bob", "--endpoint-url", fresh_sandbox.endpoint_url])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == ["error: --as bob: no such principal (known: none: serve without --demo)"]


def test_no_sandbox_is_one_line_and_exit_4(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code = main(["sandbox", "env", "--endpoint-url", url])
    captured = capsys.readouterr()
    assert (code, captured.out) == (4, "")
    [line] = captured.err.strip().splitlines()
    assert line.startswith(f"error: no sandbox answers at {url} (")
    assert "sandbox serve --demo" in line
