"""Alert rules and dashboard: the chart's copies equal config/, the rendered PrometheusRule
passes promtool (check and the alert unit tests), and the scrape job is the one alerts select."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.helm.chart import CHART_DIR, EVERYTHING_ON, FULLNAME, REPO, render

# Helm cannot read files outside the chart, so the chart carries copies of these.
COPIES = {
    CHART_DIR / "files/prometheus/alerts.yaml": REPO / "config/prometheus/alerts.yaml",
    CHART_DIR / "files/grafana/flink-remediator.json": REPO
    / "config/grafana/flink-remediator.json",
}


@pytest.mark.parametrize("copy", COPIES, ids=lambda path: path.name)
def test_chart_copy_equals_the_config_file(copy: Path) -> None:
    source = COPIES[copy]
    assert source.exists(), f"{source} is missing"
    assert copy.read_bytes() == source.read_bytes(), (
        f"{copy.relative_to(REPO)} differs from {source.relative_to(REPO)}: "
        f"cp {source.relative_to(REPO)} {copy.relative_to(REPO)}"
    )


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: apt-get install prometheus (.ci/run does)")
    return path


def write_rendered_rules(directory: Path) -> Path:
    rule = render(EVERYTHING_ON).one("PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    rules_file = directory / "alerts.yaml"
    rules_file.write_text(json.dumps(rule["spec"]))  # JSON is YAML
    return rules_file


def test_rendered_rules_pass_promtool_check(tmp_path: Path) -> None:
    rules_file = write_rendered_rules(tmp_path)
    result = subprocess.run(
        [promtool(), "check", "rules", str(rules_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rendered_rules_pass_the_alert_unit_tests(tmp_path: Path) -> None:
    # The same unit tests as config/prometheus/, run against what the chart deploys: proves the
    # trip through Helm's YAML left every expression and annotation template intact.
    write_rendered_rules(tmp_path)
    unit_tests = REPO / "config/prometheus/alerts.test.yaml"
    shutil.copyfile(unit_tests, tmp_path / unit_tests.name)
    result = subprocess.run(
        [promtool(), "test", "rules", unit_tests.name],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_rules_equal_the_source_rules() -> None:
    source = YAML(typ="safe", pure=True).load(REPO / "config/prometheus/alerts.yaml")
    assert render(EVERYTHING_ON).one("PrometheusRule")["spec"] == source


def test_service_monitor_scrapes_the_metrics_port_as_job_flink_remediator() -> None:
    rendered = render(EVERYTHING_ON)
    monitor = rendered.one("ServiceMonitor")
    service = rendered.one("Service")
    spec = monitor["spec"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    # A fixed job label (not the Service's name label, which nameOverride changes): the alerts
    # select job="flink-remediator".
    assert "jobLabel" not in spec
    assert spec["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert spec["namespaceSelector"] == {"matchNames": ["flink-remediator"]}
    [endpoint] = spec["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["interval"] == "30s"
    assert endpoint["relabelings"][0] == {
        "action": "replace",
        "targetLabel": "job",
        "replacement": "flink-remediator",
    }


def test_dashboard_config_map_is_labelled_for_the_grafana_sidecar() -> None:
    dashboard = render(EVERYTHING_ON).one("ConfigMap", f"{FULLNAME}-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["metadata"]["annotations"] == {"grafana_folder": "Flink"}
    source = json.loads((REPO / "config/grafana/flink-remediator.json").read_text())
    assert json.loads(dashboard["data"]["flink-remediator.json"]) == source


def test_dashboard_label_and_namespace_follow_the_sidecar_settings() -> None:
    values = {
        "grafanaDashboard": {
            "enabled": True,
            "label": "dashboards",
            "labelValue": "flink",
            "namespace": "monitoring",
        }
    }
    dashboard = render(values).one("ConfigMap", f"{FULLNAME}-dashboard")
    assert dashboard["metadata"]["labels"]["dashboards"] == "flink"
    assert dashboard["metadata"]["namespace"] == "monitoring"
