"""plan / apply against the sandbox over HTTP, judged by the sandbox's own record of calls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.aws import AttemptObserver, Aws
from daemon.cli import main
from daemon.commands import exits
from daemon.desired.loader import load_config
from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.rules import resolver_for
from daemon.state import AppRef, Cause
from sandbox.server import Sandbox
from sandbox.testing import client
from tests.e2e.configs import write_config
from tests.harness import CLI, mutating_calls_by

DRIFTED = {"fraud-scorer", "ledger-sink", "risk-aggregator"}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main([*argv, "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def drifted_apps(doc: dict[str, Any]) -> set[str]:
    return {a["name"] for a in doc["applications"] if any(x["changes"] for x in a["actions"])}


def test_plan_lists_drift_and_writes_nothing(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    config = write_config(tmp_path / "c.yaml")
    code, doc = run_cli(capsys, "plan", "--config", str(config), "--detailed-exitcode")
    assert code == 2
    assert drifted_apps(doc) == DRIFTED
    fields = {
        (a["name"], c["field"])
        for a in doc["applications"]
        for x in a["actions"]
        for c in x["changes"]
    }
    assert ("fraud-scorer", "CloudWatchLoggingOptions") in fields
    assert ("risk-aggregator", "MonitoringConfiguration.ConfigurationType") in fields
    assert all(x["outcome"] == "planned" for a in doc["applications"] for x in a["actions"])
    assert mutating_calls_by(fresh_sandbox, demo["principals"]["daemon"]["arn"]) == []


def test_apply_fixes_then_plan_is_clean_and_second_apply_writes_nothing(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    config = str(write_config(tmp_path / "c.yaml"))
    daemon_arn = demo["principals"]["daemon"]["arn"]
    code, doc = run_cli(capsys, "apply", "--config", config)
    assert code == 0
    assert {a["name"] for a in doc["applications"] if a["result"] == "fixed"} == DRIFTED
    assert mutating_calls_by(fresh_sandbox, daemon_arn)

    code, doc = run_cli(capsys, "plan", "--config", config, "--detailed-exitcode")
    assert (code, drifted_apps(doc)) == (0, set())

    before = len(mutating_calls_by(fresh_sandbox, daemon_arn))
    code, doc = run_cli(capsys, "apply", "--config", config)
    assert code == 0
    assert len(mutating_calls_by(fresh_sandbox, daemon_arn)) == before


def test_apply_dry_run_is_plan(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    config = str(write_config(tmp_path / "c.yaml"))
    code, doc = run_cli(capsys, "apply", "--config", config, "--dry-run")
    assert code == 0
    assert drifted_apps(doc) == DRIFTED
    assert mutating_calls_by(fresh_sandbox, demo["principals"]["daemon"]["arn"]) == []


def test_alert_mode_reports_without_writing(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    config = str(write_config(tmp_path / "c.yaml", cloudwatch_logging={"mode": "alert"}))
    code, doc = run_cli(capsys, "apply", "--config", config)
    assert code == 0
    outcomes = {x["outcome"] for a in doc["applications"] for x in a["actions"]}
    assert outcomes == {"alerted"}
    assert mutating_calls_by(fresh_sandbox, demo["principals"]["daemon"]["arn"]) == []


class RacingAws(Aws):
    """Real AWS calls, plus one real change by another user just before our first update:
    the sandbox then answers our stale version id with ConcurrentModificationException."""

    def __init__(self, region: str, rival: Any) -> None:
        super().__init__(region)
        self.rival = rival
        self.raced = False

    def observed_call(
        self, observer: AttemptObserver | None, service: str, operation: str, **params: Any
    ) -> Any:
        if operation == "UpdateApplication" and not self.raced:
            self.raced = True
            name = params["ApplicationName"]
            detail = self.rival.describe_application(ApplicationName=name)["ApplicationDetail"]
            self.rival.tag_resource(
                ResourceARN=detail["ApplicationARN"], Tags=[{"Key": "k", "Value": "v"}]
            )
            self.rival.update_application(
                ApplicationName=name,
                CurrentApplicationVersionId=detail["ApplicationVersionId"],
                ApplicationConfigurationUpdate={
                    "FlinkApplicationConfigurationUpdate": {
                        "ParallelismConfigurationUpdate": {"ConfigurationTypeUpdate": "DEFAULT"}
                    }
                },
            )
            flink = self.client("kinesisanalyticsv2")
            while (
                flink.describe_application(ApplicationName=name)["ApplicationDetail"][
                    "ApplicationStatus"
                ]
                == "UPDATING"
            ):
                pass
        return super().observed_call(observer, service, operation, **params)


def test_concurrent_modification_during_apply_is_survived(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    actor = demo["principals"]["actor"]
    from sandbox.testing import Credentials

    rival = client(
        fresh_sandbox.endpoint_url,
        fresh_sandbox.region,
        "kinesisanalyticsv2",
        Credentials(actor["aws_access_key_id"], actor["aws_secret_access_key"]),
    )
    config = load_config(write_config(tmp_path / "c.yaml"))
    aws = RacingAws(fresh_sandbox.region, rival)
    reconciler = Reconciler(lambda app: aws, resolver_for(lambda: config))
    app = AppRef(fresh_sandbox.account_id, fresh_sandbox.region, "risk-aggregator")

    result = reconciler.reconcile(app, Cause("cli"))

    assert aws.raced
    assert result.result == "fixed", result.error
    daemon_updates = [
        c
        for c in fresh_sandbox.calls()
        if c.operation == "UpdateApplication"
        and c.caller_arn == demo["principals"]["daemon"]["arn"]
    ]
    assert [c.error_code for c in daemon_updates] == ["ConcurrentModificationException", None]
    assert reconciler.reconcile(app, Cause("cli")).result == "in_sync"


def actor_client(demo: dict[str, Any], sandbox: Sandbox, service: str) -> Any:
    from sandbox.testing import Credentials

    keys = demo["principals"]["actor"]
    creds = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])
    return client(sandbox.endpoint_url, sandbox.region, service, creds)


def planned_operations(doc: dict[str, Any]) -> list[str]:
    return sorted(
        c["operation"]
        for a in doc["applications"]
        for x in a["actions"]
        if x["mode"] == "enforce"
        for c in x["calls"]
    )


def test_saved_plan_is_applied_exactly_and_a_stale_one_is_refused(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    config = str(write_config(tmp_path / "c.yaml"))
    daemon_arn = demo["principals"]["daemon"]["arn"]
    stale, current = tmp_path / "stale.json", tmp_path / "plan.json"
    assert run_cli(capsys, "plan", "--config", config, "--out", str(stale))[0] == 0

    # Someone changes fraud-scorer after the plan was made: its version id moves on.
    flink = actor_client(demo, fresh_sandbox, "kinesisanalyticsv2")
    detail = flink.describe_application(ApplicationName="fraud-scorer")["ApplicationDetail"]
    flink.update_application(
        ApplicationName="fraud-scorer",
        CurrentApplicationVersionId=detail["ApplicationVersionId"],
        ApplicationConfigurationUpdate={
            "FlinkApplicationConfigurationUpdate": {
                "ParallelismConfigurationUpdate": {"ConfigurationTypeUpdate": "DEFAULT"}
            }
        },
    )
    capsys.readouterr()
    assert main(["apply", "--plan-file", str(stale)]) == exits.STALE_PLAN
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {stale} is stale, nothing applied: fraud-scorer is at version "
        f"{detail['ApplicationVersionId'] + 1}, planned at {detail['ApplicationVersionId']}; "
        "run plan again"
    )
    assert mutating_calls_by(fresh_sandbox, daemon_arn) == []

    wait_until_settled(flink, "fraud-scorer")
    code, plan_doc = run_cli(capsys, "plan", "--config", config, "--out", str(current))
    assert json.loads(current.read_text()) == plan_doc
    code, doc = run_cli(capsys, "apply", "--plan-file", str(current))
    assert code == 0
    assert {a["name"] for a in doc["applications"] if a["result"] == "fixed"} == DRIFTED
    made = sorted(c.operation for c in mutating_calls_by(fresh_sandbox, daemon_arn))
    assert made == planned_operations(plan_doc)
    assert run_cli(capsys, "plan", "--config", config, "--detailed-exitcode")[0] == 0


def wait_until_settled(flink: Any, name: str) -> None:
    while (
        flink.describe_application(ApplicationName=name)["ApplicationDetail"]["ApplicationStatus"]
        == "UPDATING"
    ):
        pass


def test_plan_text_off_a_tty_wraps_nothing_and_names_the_override(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "c.yaml")
    doc = yaml.safe_load(path.read_text())
    doc["overrides"] = [
        {
            "name": "ledger-team",
            "match": {"names": ["ledger-*"]},
            "rules": {"cloudwatch_logging": {"mode": "enforce"}},
        }
    ]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = subprocess.run(
        [*CLI, "plan", "--config", str(path), "--app", "ledger-*", "--app", "fraud-scorer"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("fraud-scorer  arn:aws:kinesisanalytics:")
    assert not any("risk-aggregator" in line for line in lines)  # not selected
    ledger = lines.index(next(line for line in lines if line.startswith("ledger-sink  ")))
    block = lines[ledger : lines.index("", ledger)]
    change = next(line for line in block if "~ CloudWatchLoggingOptions" in line)
    assert "log-stream:debug-stream" in change and change.endswith('kinesis-analytics-log-stream"]')
    assert "      overrides: ledger-team" in block
    assert any(line.startswith("      reason: ") for line in block)
    assert lines[-1] == "2 applications, 2 with drift, 2 fields would change, 0 errors"


def test_interrupted_apply_prints_a_partial_report_and_exits_130(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    config = str(write_config(tmp_path / "c.yaml"))
    process = subprocess.Popen(
        [
            *CLI,
            "apply",
            "--config",
            config,
            "--workers",
            "1",
            "--output",
            "json",
            "--log-format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # the first fix went through: stop the apply now
        if '"remediation_applied"' in line:
            break
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == exits.INTERRUPTED
    doc = json.loads(out)
    assert doc["interrupted"] is True
    done = {a["name"] for a in doc["applications"]}
    assert "fraud-scorer" in done and done.isdisjoint(doc["not_started"])
    assert len(done) + len(doc["not_started"]) == 5
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: interrupted by SIGTERM: {len(done)} applications done")
    assert "Traceback" not in err
