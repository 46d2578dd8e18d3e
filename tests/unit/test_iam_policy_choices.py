"""`iam-policy` never leaves the queue out silently (a queue flag or an explicit `--no-queue`),
and the documented `--hub`/`--member` commands work on the example config once its commented
multi-account lines are uncommented (and say exactly what to add before)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from daemon.commands import exits

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "config" / "desired-state.example.yaml"
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:flink-remediator-events"
MEMBER_ROLE = "arn:aws:iam::{account}:role/flink-remediator-member"


def actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] for a in s["Action"]}


def test_without_a_queue_flag_the_command_asks_which_queue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["iam-policy", "--config", str(EXAMPLE)]) == exits.USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: iam-policy: which event queue? give --queue-url URL")
    assert "--no-queue" in err and err.count("\n") == 1


def test_no_queue_is_an_explicit_policy_without_sqs_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["iam-policy", "--config", str(EXAMPLE), "--no-queue"]) == exits.OK
    out, err = capsys.readouterr()
    assert not {a for a in actions(json.loads(out)) if a.startswith("sqs:")}
    assert "--no-queue: no SQS statements" in err  # on stderr: stdout stays the JSON


def test_a_queue_gives_the_sqs_statements(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iam-policy", "--config", str(EXAMPLE), "--queue-arn", QUEUE]) == exits.OK
    assert "sqs:ReceiveMessage" in actions(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize("flag", [("--no-queue",), ("--queue-arn", QUEUE)])
def test_the_member_policy_takes_no_queue_flag(
    flag: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["iam-policy", "--config", str(EXAMPLE), "--member", *flag]) == exits.USAGE
    assert "--member takes no queue flag" in capsys.readouterr().err


def test_hub_on_the_example_says_exactly_what_to_add(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iam-policy", "--config", str(EXAMPLE), "--hub", "--queue-arn", QUEUE]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert f"add a top-level `assume_role: {MEMBER_ROLE}`" in err


def uncommented_example(tmp_path: Path) -> Path:
    """The example with its multi-account lines uncommented, as its comment tells."""
    lines = EXAMPLE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# Many accounts"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("regions:"))
    block = [line.removeprefix("# ") for line in lines[start + 1 : end] if "Uncomment" not in line]
    path = tmp_path / "many.yaml"
    path.write_text("\n".join([*lines[:start], *block, *lines[end:]]) + "\n")
    return path


def test_the_documented_hub_and_member_commands_work_on_the_uncommented_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(uncommented_example(tmp_path))
    assert main(["iam-policy", "--config", config, "--hub", "--queue-arn", QUEUE]) == exits.OK
    hub = json.loads(capsys.readouterr().out)
    [assume] = [s for s in hub["Statement"] if s["Sid"] == "AssumeMemberRoles"]
    assert assume["Resource"] == ["arn:aws:iam::*:role/flink-remediator-member"]
    assert main(["iam-policy", "--config", config, "--member"]) == exits.OK
    assert "sqs:ReceiveMessage" not in actions(json.loads(capsys.readouterr().out))
