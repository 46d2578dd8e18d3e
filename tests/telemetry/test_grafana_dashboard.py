"""The Grafana dashboard: every query names only catalogued metrics, is valid PromQL, uses the
data source variable, and the panels on-call needs are there."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.telemetry.catalogue import ROOT, grafana_query_metric_names, queryable_names
from tests.telemetry.tools import require_promtool

DASHBOARD_PATH = ROOT / "config" / "grafana" / "flink-remediator.json"
DASHBOARD: dict[str, Any] = json.loads(DASHBOARD_PATH.read_text(encoding="utf-8"))
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# What the dashboard must show (issue 8): each metric has to appear in some panel query.
REQUIRED_METRICS = {
    "flink_remediator_violation_active",  # fleet compliance, open violations by rule and app
    "flink_remediator_applications",  # fleet size for the compliance ratio
    "flink_remediator_remediations_total",  # remediations over time by outcome, failures
    "flink_remediator_event_lag_seconds_bucket",  # event lag quantiles
    "flink_remediator_queue_messages",  # queue and DLQ depth
    "flink_remediator_work_queue_depth",
    "flink_remediator_last_sweep_success_timestamp_seconds",  # sweep age
    "flink_remediator_fight_active",  # fights
    "flink_remediator_aws_errors_total",  # AWS errors
}


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # rows (collapsed or not) nest panels


PANELS = [p for p in _panels(DASHBOARD["panels"]) if p["type"] != "row"]
TARGETS = [(p["title"], t) for p in PANELS for t in p.get("targets", [])]


def _variable_queries() -> list[str]:
    queries = []
    for variable in DASHBOARD["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def test_every_panel_has_queries() -> None:
    assert PANELS
    for panel in PANELS:
        assert panel.get("targets"), f"panel {panel['title']!r} has no query"


@pytest.mark.parametrize(
    ("title", "target"), TARGETS, ids=[f"{t}-{x['refId']}" for t, x in TARGETS]
)
def test_panel_queries_name_only_catalogued_metrics(title: str, target: dict[str, Any]) -> None:
    names = grafana_query_metric_names(target["expr"])
    assert names, f"{title}: no metric in {target['expr']!r}"
    unknown = names - queryable_names()
    assert not unknown, f"{title}: not in docs/metrics.md: {unknown}"
    assert 'job="$job"' in target["expr"], f"{title}: select the daemon with the $job variable"


def test_variable_queries_name_only_catalogued_metrics() -> None:
    queries = _variable_queries()
    assert queries
    for query in queries:
        assert grafana_query_metric_names(query) <= queryable_names(), query


def test_required_panels_are_there() -> None:
    used = set().union(*(grafana_query_metric_names(t["expr"]) for _, t in TARGETS))
    assert used >= REQUIRED_METRICS, f"missing: {REQUIRED_METRICS - used}"


def test_data_source_is_a_template_variable() -> None:
    (variable,) = (v for v in DASHBOARD["templating"]["list"] if v["name"] == "datasource")
    assert variable["type"] == "datasource"
    assert variable["query"] == "prometheus"
    for panel in PANELS:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
    assert "__inputs" not in DASHBOARD, "import-time inputs do not work with the Grafana sidecar"


def test_dashboard_identity_and_unique_ids() -> None:
    assert DASHBOARD["uid"] == "flink-remediator"
    assert DASHBOARD["title"]
    ids = [p["id"] for p in _panels(DASHBOARD["panels"])]
    assert len(ids) == len(set(ids))


def test_panel_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses every query (as recording rules, Grafana variables substituted)."""
    promtool = require_promtool()
    substitutions = {"$__rate_interval": "5m", "$__interval": "1m", "$job": "flink-remediator"}
    rules = []
    for index, (_, target) in enumerate(TARGETS):
        expr = target["expr"]
        for variable, value in substitutions.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    path = tmp_path / "dashboard-queries.yaml"
    with path.open("w", encoding="utf-8") as out:
        YAML(typ="safe").dump({"groups": [{"name": "dashboard", "rules": rules}]}, out)
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
