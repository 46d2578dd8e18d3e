"""`replay`: recorded events through the daemon's pipeline, dry-run unless --apply."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, receive_envelopes
from tests.e2e.configs import write_config
from tests.harness import mutating_calls_by

APP = "payments-enricher"


def alice(demo: dict[str, Any], sandbox: Sandbox, service: str) -> Any:
    keys = demo["principals"]["actor"]
    creds = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])
    return client(sandbox.endpoint_url, sandbox.region, service, creds)


@pytest.fixture
def trail(demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path) -> dict[str, Path]:
    """Yesterday's trail: alice removed a logging option; recorded both ways AWS stores it."""
    flink = alice(demo, fresh_sandbox, "kinesisanalyticsv2")
    detail = flink.describe_application(ApplicationName=APP)["ApplicationDetail"]
    flink.delete_application_cloud_watch_logging_option(
        ApplicationName=APP,
        CurrentApplicationVersionId=detail["ApplicationVersionId"],
        CloudWatchLoggingOptionId=detail["CloudWatchLoggingOptionDescriptions"][0][
            "CloudWatchLoggingOptionId"
        ],
    )
    sqs = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "sqs")
    envelopes = receive_envelopes(sqs, fresh_sandbox.queue_url, wait_seconds=5, expect=1)
    assert envelopes
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text("\n".join(json.dumps(e) for e in envelopes) + "\nnot json\n")
    records = tmp_path / "trail.json.gz"
    records.write_bytes(
        gzip.compress(json.dumps({"Records": [e["detail"] for e in envelopes]}).encode())
    )
    return {"jsonl": jsonl, "records": records}


def test_replay_is_dry_run_by_default(
    demo: dict[str, Any],
    fresh_sandbox: Sandbox,
    trail: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path / "c.yaml")
    code = main(
        [
            "replay",
            str(trail["jsonl"]),
            str(trail["records"]),
            "--config",
            str(config),
            "--output",
            "json",
        ]
    )
    out = capsys.readouterr()
    assert code == 0
    doc = json.loads(out.out)
    assert [a["name"] for a in doc["applications"]] == [APP]
    action = doc["applications"][0]["actions"][0]
    assert action["outcome"] == "planned"
    assert action["calls"][0]["operation"] == "AddApplicationCloudWatchLoggingOption"
    # Each event is accounted for: routed once, its copy in the second file a duplicate,
    # and the broken line dropped with its reason.
    assert "DeleteApplicationCloudWatchLoggingOption by arn:aws:iam::" in out.err
    assert "ignored (duplicate)" in out.err
    assert "ignored (not_json)" in out.err
    assert mutating_calls_by(fresh_sandbox, demo["principals"]["daemon"]["arn"]) == []


def test_replay_apply_fixes(
    demo: dict[str, Any],
    fresh_sandbox: Sandbox,
    trail: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path / "c.yaml")
    assert main(["replay", str(trail["records"]), "--config", str(config), "--apply"]) == 0
    flink = alice(demo, fresh_sandbox, "kinesisanalyticsv2")
    detail = flink.describe_application(ApplicationName=APP)["ApplicationDetail"]
    assert detail["CloudWatchLoggingOptionDescriptions"]
