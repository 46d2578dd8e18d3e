"""`report` against the demo account: the same statuses as `plan`, no write of any kind, and
renderings an auditor can open (the HTML parsed, the CSV read back)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.cli import main
from daemon.version import package_version
from sandbox.demo import DEMO_APPS
from sandbox.server import Sandbox
from tests.e2e.configs import write_config

ENABLED = ("cloudwatch_logging", "snapshots", "runtime_version")
# GetFindings is a POST in Security Hub's REST-JSON protocol: the sandbox records it as
# "POST /findings", which is a read.
READS_OVER_POST = {"POST /findings"}


def config_file(tmp_path: Path, security_hub: bool = False) -> Path:
    path = write_config(tmp_path / "c.yaml", enabled=ENABLED)
    doc = yaml.safe_load(path.read_text())
    doc["controls"] = {"cloudwatch_logging": ["PCI DSS 10.2", "SOC 2 CC7.2"]}
    if security_hub:
        doc["evidence"] = {"security_hub": {"enabled": True}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def plan_violations(capsys: Any, config: Path) -> set[tuple[str, str]]:
    code, out = run(capsys, "plan", "--config", str(config), "--output", "json")
    assert code == 0
    return {
        (app["name"], change["rule"])
        for app in json.loads(out)["applications"]
        for action in app["actions"]
        for change in action["changes"]
    }


def test_json_report_matches_plan_and_writes_nothing(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    config = config_file(tmp_path)
    expected = plan_violations(capsys, config)
    before = len(fresh_sandbox.calls())

    code, out = run(capsys, "report", "--config", str(config), "--format", "json")

    assert code == 0
    doc = json.loads(out)
    assert {a["name"] for a in doc["applications"]} == {app.name for app in DEMO_APPS}
    assert [c["id"] for c in doc["controls"]] == list(ENABLED)
    rows = {(a["name"], r["control"]): r for a in doc["applications"] for r in a["controls"]}
    assert set(rows) == {(app.name, rule) for app in DEMO_APPS for rule in ENABLED}
    violations = {key for key, row in rows.items() if row["status"] == "violation"}
    assert violations == expected and expected  # the demo has drift
    assert {row["status"] for key, row in rows.items() if key not in expected} == {"compliant"}
    logging = rows[("payments-enricher", "cloudwatch_logging")]
    assert "log-stream:kinesis-analytics-log-stream" in logging["evidence"]
    assert logging["references"] == ["PCI DSS 10.2", "SOC 2 CC7.2"]
    assert "debug-stream" in rows[("ledger-sink", "cloudwatch_logging")]["evidence"]
    writes = [
        c
        for c in fresh_sandbox.calls()[before:]
        if c.mutating and c.operation not in READS_OVER_POST
    ]
    assert writes == []


def test_report_detailed_exit_code_says_violation(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    config = config_file(tmp_path)
    code, _ = run(
        capsys, "report", "--config", str(config), "--format", "csv", "--detailed-exitcode"
    )
    assert code == 2


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.apps: list[str] = []
        self.bars: dict[tuple[str, str], int] = {}
        self.rows: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.urls += [v for k, v in a.items() if k in ("href", "src") or "://" in v]
        if tag == "script":
            self.scripts += 1
        if tag == "section" and "data-app" in a:
            self.apps.append(a["data-app"])
        if tag == "rect":
            self.bars[(a["data-control"], a["data-status"])] = int(a["data-count"])
        if tag == "tr" and a.get("class") == "row":
            self.rows.append((a["data-control"], a["data-status"]))


def test_html_report_is_one_self_contained_file_with_every_app(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "report.html"
    code, _ = run(capsys, "report", "--config", str(config_file(tmp_path)), "--output", str(out))
    assert code == 0
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert sorted(page.apps) == sorted(app.name for app in DEMO_APPS)
    assert page.urls == [] and page.scripts == 0
    for control in ENABLED:
        statuses = [s for c, s in page.rows if c == control]
        assert page.bars[(control, "compliant")] == statuses.count("compliant")
        assert page.bars[(control, "not-compliant")] == statuses.count(
            "violation"
        ) + statuses.count("error")
    assert len(page.rows) == len(DEMO_APPS) * len(ENABLED)


def test_csv_report_has_a_header_and_one_row_per_app_and_control(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    code, out = run(capsys, "report", "--config", str(config_file(tmp_path)), "--format", "csv")
    assert code == 0
    assert out.splitlines()[0].startswith("account,region,application,")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(DEMO_APPS) * len(ENABLED)
    refs = {r["references"] for r in rows if r["control"] == "cloudwatch_logging"}
    assert refs == {"PCI DSS 10.2; SOC 2 CC7.2"}


def test_report_shows_the_finding_history_from_security_hub(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any, aws: Any
) -> None:
    aws("securityhub").enable_security_hub()
    config = config_file(tmp_path, security_hub=True)
    code, _ = run(capsys, "apply", "--config", str(config), "--output", "json")  # fixes, imports
    assert code == 0
    code, out = run(capsys, "report", "--config", str(config), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["security_hub"] is True
    rows = {(a["name"], r["control"]): r for a in doc["applications"] for r in a["controls"]}
    fixed = rows[("fraud-scorer", "cloudwatch_logging")]
    assert fixed["status"] == "compliant"
    assert fixed["finding"]["status"] == "PASSED"
    assert fixed["finding"]["resolution"] == "fixed"
    assert fixed["finding"]["fixed_at"] and fixed["finding"]["first_seen"]
    assert fixed["finding"]["fixed_by"] == "flink-remediator"
    untouched = rows[("payments-enricher", "cloudwatch_logging")]["finding"]
    assert untouched["status"] == "PASSED" and untouched["resolution"] == "compliant"
    assert all(r["finding"] for r in rows.values()), "every (app, control) has a finding"


def auditor_config(tmp_path: Path) -> Path:
    """vpc_public_route and required_tags on, encryption mapped to references but disabled."""
    enabled = ("cloudwatch_logging", "vpc_public_route", "required_tags")
    tags: dict[str, object] = {"tags": {"team": {"allowed": ["payments"]}}}
    path = write_config(tmp_path / "c.yaml", enabled=enabled, required_tags=tags)
    doc = yaml.safe_load(path.read_text())
    doc["controls"] = {"encryption": ["PCI DSS 3.5"], "vpc_public_route": ["PCI DSS 1.4"]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_header_says_what_was_covered_and_from_what(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    config = auditor_config(tmp_path)
    code, out = run(capsys, "report", "--config", str(config), "--format", "json")
    assert code == 0
    header = json.loads(out)["header"]
    assert header["tool_version"] == package_version() != ""
    assert header["config_sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert header["config_file"] == str(config.absolute())
    assert header["accounts"] == [fresh_sandbox.account_id]
    assert header["regions"] == ["eu-west-1"]
    assert header["caller_arn"] == demo["principals"]["daemon"]["arn"]  # GetCallerIdentity
    assert datetime.fromisoformat(header["generated_at"]).tzinfo is not None


def test_disabled_no_vpc_and_tags_rows_are_told_apart_in_every_format(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    config = str(auditor_config(tmp_path))
    code, out = run(capsys, "report", "--config", config, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    controls = {c["id"]: c for c in doc["controls"]}
    assert controls["encryption"]["evaluated"] is False  # disabled, but still a control
    assert controls["encryption"]["counts"]["not evaluated"] == len(DEMO_APPS)
    rows = {(a["name"], r["control"]): r for a in doc["applications"] for r in a["controls"]}
    in_vpc = {app.name for app in DEMO_APPS if app.in_private_subnet}
    assert in_vpc and len(in_vpc) < len(DEMO_APPS)
    for app in DEMO_APPS:
        disabled = rows[(app.name, "encryption")]
        assert (disabled["status"], disabled["message"]) == ("not evaluated", "rule disabled")
        route = rows[(app.name, "vpc_public_route")]
        if app.name in in_vpc:
            assert route["status"] == "compliant" and "subnets subnet-" in route["evidence"]
        else:
            assert route["status"] == "not applicable"
            assert route["message"].startswith("no VPC configuration")
        tagged = rows[(app.name, "required_tags")]
        assert (tagged["status"], tagged["evidence"]) == ("compliant", "tags team=payments")
    assert controls["vpc_public_route"]["counts"]["not applicable"] == len(DEMO_APPS) - len(in_vpc)
    assert controls["vpc_public_route"]["counts"]["compliant"] == len(in_vpc)

    code, out = run(capsys, "report", "--config", config, "--format", "csv")
    csv_rows = list(csv.DictReader(io.StringIO(out)))
    statuses = {(r["application"], r["control"]): r["status"] for r in csv_rows}
    assert statuses == {key: row["status"] for key, row in rows.items()}
    assert {r["caller_arn"] for r in csv_rows} == {demo["principals"]["daemon"]["arn"]}
    assert {r["config_sha256"] for r in csv_rows} == {doc["header"]["config_sha256"]}

    html = tmp_path / "report.html"
    code, _ = run(capsys, "report", "--config", config, "--output", str(html))
    page = _Page()
    page.feed(html.read_text(encoding="utf-8"))
    assert sorted(page.rows) == sorted((c, r["status"]) for (_, c), r in rows.items())
    text = html.read_text(encoding="utf-8")
    assert f'data-field="config_sha256">{doc["header"]["config_sha256"]}<' in text
    assert 'data-control="encryption" data-evaluated="false"' in text
    assert "(not evaluated: rule disabled)" in text


def test_a_report_written_to_a_file_says_where(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "controls.csv"
    capsys.readouterr()
    argv = ["report", "--config", str(config_file(tmp_path)), "--format", "csv"]
    assert main([*argv, "--output", str(out)]) == 0
    std = capsys.readouterr()
    assert std.out == ""
    assert std.err.strip().splitlines()[-1] == (
        f"report: wrote CSV to {out.absolute()} ({len(DEMO_APPS)} applications, "
        f"{len(ENABLED)} controls)"
    )
    assert out.read_text().startswith("account,region,application,")
