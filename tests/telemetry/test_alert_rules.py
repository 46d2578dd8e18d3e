"""The alert rules: promtool validates them and runs their unit tests; every alert is tested
firing and not firing, follows the conventions and links to a runbook section that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.telemetry.catalogue import ROOT, promql_metric_names, queryable_names
from tests.telemetry.docs_anchors import anchors, github_anchor
from tests.telemetry.tools import require_promtool

RULES = ROOT / "config" / "prometheus" / "alerts.yaml"
RULE_TESTS = ROOT / "config" / "prometheus" / "alerts.test.yaml"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
RUNBOOK_BASE = "https://github.com/flink-remediator/flink-remediator/blob/main/docs/runbooks.md#"
JOB_SELECTOR = 'job="flink-remediator"'
SEVERITIES = {"critical", "warning", "info"}


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _alerts() -> list[dict[str, Any]]:
    return [rule for group in _load(RULES)["groups"] for rule in group["rules"] if "alert" in rule]


ALERTS = _alerts()
ALERT_IDS = [rule["alert"] for rule in ALERTS]


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_promtool()


def _run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=120
    )


def test_promtool_check_rules(promtool: str) -> None:
    result = _run(promtool, "check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool: str) -> None:
    result = _run(promtool, "test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_unit_tests_use_the_rule_file() -> None:
    assert _load(RULE_TESTS)["rule_files"] == [RULES.name]


def test_alert_names_are_unique() -> None:
    assert len(ALERT_IDS) == len(set(ALERT_IDS))


@pytest.mark.parametrize("alert", ALERT_IDS)
def test_every_alert_is_tested_firing_and_not_firing(alert: str) -> None:
    cases = [
        case
        for group in _load(RULE_TESTS)["tests"]
        for case in group.get("alert_rule_test", [])
        if case["alertname"] == alert
    ]
    assert any(case.get("exp_alerts") for case in cases), f"{alert}: no firing case"
    assert any(not case.get("exp_alerts") for case in cases), f"{alert}: no not-firing case"


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_conventions(rule: dict[str, Any]) -> None:
    assert re.fullmatch(r"FlinkRemediator[A-Z][A-Za-z]+", rule["alert"])
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert set(annotations) == {"summary", "description", "runbook_url"}
    assert all(annotations[key].strip() for key in annotations)
    assert JOB_SELECTOR in rule["expr"], "select the daemon by the documented scrape job"


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_runbook_url_points_to_an_existing_section(rule: dict[str, Any]) -> None:
    url = rule["annotations"]["runbook_url"]
    assert url.startswith(RUNBOOK_BASE), url
    anchor = url.removeprefix(RUNBOOK_BASE)
    assert anchor in anchors(RUNBOOKS), f"docs/runbooks.md has no section #{anchor}"
    assert anchor == github_anchor(rule["alert"]), "one runbook section per alert, named after it"


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_expressions_use_only_catalogued_metrics(rule: dict[str, Any]) -> None:
    names = promql_metric_names(rule["expr"])
    assert names, "no metric found in the expression"
    assert names <= queryable_names(), f"not in docs/metrics.md: {names - queryable_names()}"


def test_public_route_alert_is_critical_and_immediate() -> None:
    (rule,) = (r for r in ALERTS if r["alert"] == "FlinkRemediatorPublicInternetRoute")
    assert rule["labels"]["severity"] == "critical"
    assert rule.get("for", "0m") in ("0m", "0s", 0)
    assert 'rule="vpc_public_route"' in rule["expr"]


@pytest.mark.parametrize("doc", ["runbooks.md", "metrics.md"])
def test_links_between_docs_resolve(doc: str) -> None:
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    for target, anchor in re.findall(r"\]\(([\w.-]*\.md)?#([\w-]+)\)", text):
        assert anchor in anchors(ROOT / "docs" / (target or doc)), f"{doc}: {target}#{anchor}"
