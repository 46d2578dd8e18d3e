"""Issue 7, done when: on the sandbox, one `apply` fixes an application that drifted on
snapshots, checkpointing and rollback with a single UpdateApplication call (from the sandbox's
own call record), and the report-only rules show in `plan`. Runs the real CLI in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from remediations import RULES
from sandbox.server import Sandbox
from tests.contract.harness import Harness

FIXED_TOGETHER = ["snapshots", "checkpointing", "system_rollback"]
REPORTED = ["runtime_version", "code_location"]


def config_text(account: str, region: str) -> str:
    """Every registered rule but the ones this test is about is disabled, so a new rule does
    not change what it sees. JSON is YAML."""
    rules: dict[str, dict[str, object]] = {rule_id: {"enabled": False} for rule_id in RULES}
    rules.update({rule_id: {} for rule_id in FIXED_TOGETHER + REPORTED})
    rules["code_location"] = {"allowed_buckets": ["acme-artifacts-*"]}
    document = {"version": 1, "accounts": [account], "regions": [region], "rules": rules}
    return json.dumps(document)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def actions(report: dict[str, Any]) -> list[dict[str, Any]]:
    (app,) = report["applications"]
    found: list[dict[str, Any]] = app["actions"]
    return found


def test_one_apply_fixes_three_rules_with_one_update_and_plan_shows_alerts(
    fresh_sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": fresh_sandbox.region,
    }.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "desired.yaml"
    config.write_text(config_text(fresh_sandbox.account_id, fresh_sandbox.region))
    code = {
        "CodeContentType": "ZIPFILE",
        "CodeContent": {
            "S3ContentLocation": {
                "BucketARN": "arn:aws:s3:::someones-scratch",
                "FileKey": "job.jar",
            }
        },
    }
    h.create_app(
        "orders",
        {
            "ApplicationCodeConfiguration": code,
            "ApplicationSnapshotConfiguration": {"SnapshotsEnabled": False},
            "ApplicationSystemRollbackConfiguration": {"RollbackEnabled": False},
            "FlinkApplicationConfiguration": {
                "CheckpointConfiguration": {
                    "ConfigurationType": "CUSTOM",
                    "CheckpointingEnabled": False,
                }
            },
        },
        runtime="FLINK-1_15",
    )
    h.clear_calls()

    exit_code, plan = run(
        capsys, "plan", "--config", str(config), "--output", "json", "--detailed-exitcode"
    )
    assert exit_code == 2
    by_rules = {tuple(a["rules"]): a for a in actions(plan)}
    merged = by_rules[tuple(FIXED_TOGETHER)]
    assert merged["mode"] == "enforce"
    assert [c["operation"] for c in merged["calls"]] == ["UpdateApplication"]
    assert {c["rule"] for c in merged["changes"]} == set(FIXED_TOGETHER)
    for alert_only in REPORTED:
        assert by_rules[(alert_only,)]["mode"] == "alert"
        assert by_rules[(alert_only,)]["calls"] == []
    assert h.mutating_calls() == []  # plan never writes

    exit_code, applied = run(capsys, "apply", "--config", str(config), "--output", "json")
    assert exit_code == 0
    assert h.mutating_calls() == ["UpdateApplication"]
    assert {tuple(a["rules"]): a["outcome"] for a in actions(applied)} == {
        tuple(FIXED_TOGETHER): "applied",
        ("runtime_version",): "alerted",
        ("code_location",): "alerted",
    }

    h.clear_calls()
    exit_code, after = run(capsys, "plan", "--config", str(config), "--output", "json")
    assert sorted(tuple(a["rules"]) for a in actions(after)) == [
        ("code_location",),
        ("runtime_version",),
    ]
    assert h.mutating_calls() == []
