"""`iam-policy --hub` / `--member`: the hub role may assume only the member roles and read its
queue; the member role gets the rules' reads and writes in any account and may not change
itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main

CONFIG = """
version: 1
accounts:
  - '123456789012'
  - '200000000001'
  - {id: '200000000002', assume_role: 'arn:aws:iam::200000000002:role/special'}
assume_role: 'arn:aws:iam::{account}:role/flink-remediator-member'
regions: [eu-west-1]
execution_roles: {path: /flink/}
"""
QUEUE = ("--queue-arn", "arn:aws:sqs:eu-west-1:123456789012:q")


def policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *flags: str, config: str = CONFIG
) -> dict[str, Any]:
    path = tmp_path / "c.yaml"
    path.write_text(config)
    assert main(["iam-policy", "--config", str(path), *flags]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_the_hub_may_assume_only_the_member_roles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statements = policy(tmp_path, capsys, "--hub", *QUEUE)["Statement"]
    assert isinstance(statements, list)
    assume = [s for s in statements if "sts:AssumeRole" in s["Action"]]
    assert assume == [
        {
            "Sid": "AssumeMemberRoles",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole"],
            "Resource": [
                "arn:aws:iam::*:role/flink-remediator-member",
                "arn:aws:iam::200000000002:role/special",
            ],
        }
    ]
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {
        "sts:GetCallerIdentity",
        "sts:AssumeRole",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
    }
    assert all("*" not in s["Action"] for s in statements)


def test_the_member_role_fixes_in_any_account_but_never_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statements = policy(tmp_path, capsys, "--member")["Statement"]
    assert isinstance(statements, list)
    assert not [
        s for s in statements if any(a.startswith(("sqs:", "sts:Assume")) for a in s["Action"])
    ]
    fixes = [s for s in statements if s["Sid"] == "FixApplications"]
    assert fixes and fixes[0]["Resource"] == ["arn:aws:kinesisanalytics:eu-west-1:*:application/*"]
    [deny] = [s for s in statements if s["Sid"] == "DenyWritesOnOwnRole"]
    assert deny["Effect"] == "Deny"
    assert deny["Resource"] == ["arn:aws:iam::*:role/flink-remediator-member"]


def test_hub_and_member_need_a_role_to_assume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\naccounts: ['123456789012']\nregions: [eu-west-1]\n")
    assert main(["iam-policy", "--config", str(path), "--hub", "--no-queue"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "assume_role: needed for --hub/--member" in err
    assert "add a top-level `assume_role: arn:aws:iam::{account}:role/" in err


def test_findings_are_imported_by_the_hub_not_the_members(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = CONFIG + "evidence: {security_hub: {enabled: true}}\n"
    hub = policy(tmp_path, capsys, "--hub", "--no-queue", config=config)
    member = policy(tmp_path, capsys, "--member", config=config)
    imports = [s for s in hub["Statement"] if "securityhub:BatchImportFindings" in s["Action"]]
    assert [s["Resource"] for s in imports] == [
        [
            f"arn:aws:securityhub:eu-west-1:{a}:product/{a}/default"
            for a in ("123456789012", "200000000001", "200000000002")
        ]
    ]
    assert "securityhub" not in json.dumps(member)
