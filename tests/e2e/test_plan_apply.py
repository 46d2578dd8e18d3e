"""plan / apply against the sandbox over HTTP, judged by the sandbox's own record of calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daemon.aws import AttemptObserver, Aws
from daemon.cli import main
from daemon.desired.loader import load_config
from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.rules import resolver_for
from daemon.state import AppRef, Cause
from sandbox.server import Sandbox
from sandbox.testing import client
from tests.e2e.configs import write_config
from tests.harness import mutating_calls_by

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
