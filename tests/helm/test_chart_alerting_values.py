"""Alerts keep working whatever the release is called: a fixed scrape job that the rules select
(nameOverride, fullnameOverride), a sweep-stale threshold that follows the sweep interval,
per-alert disable, and the user's own relabelings after the chart's."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helm_python import HelmValuesError

from tests.helm.chart import render

MONITORING = {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}}


def with_monitoring(**values: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
    }
    for key, value in values.items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    return merged


def rules(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = render(values).one("PrometheusRule")["spec"]
    return {rule["alert"]: rule for group in spec["groups"] for rule in group["rules"]}


def scraped_job(values: dict[str, Any]) -> str:
    """The job label Prometheus gives the targets: the last relabeling that sets `job` wins."""
    endpoint = render(values).one("ServiceMonitor")["spec"]["endpoints"][0]
    job = None
    for relabeling in endpoint["relabelings"]:
        if relabeling.get("targetLabel") == "job":
            job = relabeling["replacement"]
    assert job is not None, "nothing sets the job label"
    return str(job)


def selected_jobs(values: dict[str, Any]) -> set[str]:
    return {
        job for rule in rules(values).values() for job in re.findall(r'job="([^"]*)"', rule["expr"])
    }


@pytest.mark.parametrize(
    "names",
    [{}, {"nameOverride": "remediator"}, {"fullnameOverride": "flink-fixer"}],
    ids=["defaults", "nameOverride", "fullnameOverride"],
)
def test_alerts_select_the_job_the_service_monitor_sets(names: dict[str, str]) -> None:
    values = with_monitoring(**names)
    assert selected_jobs(values) == {scraped_job(values)} == {"flink-remediator"}
    assert rules(values)["FlinkRemediatorAbsent"]["expr"] == 'absent(up{job="flink-remediator"})'


def test_a_custom_job_name_is_used_by_scrape_and_rules_alike() -> None:
    values = with_monitoring(serviceMonitor={"jobName": "flink-prod"})
    assert selected_jobs(values) == {scraped_job(values)} == {"flink-prod"}


def test_user_relabelings_come_after_the_job_relabeling() -> None:
    drop_go = {"action": "drop", "sourceLabels": ["__name__"], "regex": "go_.*"}
    add_cluster = {"action": "replace", "targetLabel": "cluster", "replacement": "eu-1"}
    values = with_monitoring(
        serviceMonitor={"relabelings": [add_cluster], "metricRelabelings": [drop_go]}
    )
    endpoint = render(values).one("ServiceMonitor")["spec"]["endpoints"][0]
    assert endpoint["relabelings"][1:] == [add_cluster]
    assert endpoint["metricRelabelings"] == [drop_go]
    assert (
        "metricRelabelings" not in render(MONITORING).one("ServiceMonitor")["spec"]["endpoints"][0]
    )


@pytest.mark.parametrize(("interval", "threshold"), [(300, 900), (900, 2700), (3600, 10800)])
def test_sweep_stale_threshold_is_three_sweep_intervals(interval: int, threshold: int) -> None:
    values = with_monitoring(daemon={"sweepIntervalSeconds": interval})
    expr = rules(values)["FlinkRemediatorSweepStale"]["expr"]
    assert re.search(rf"\) > {threshold}\s*$", expr), expr


def test_disabled_alerts_are_left_out() -> None:
    everything = rules(MONITORING)
    values = with_monitoring(
        prometheusRule={"disabled": ["FlinkRemediatorEventLagHigh", "FlinkRemediatorAbsent"]}
    )
    kept = rules(values)
    assert set(everything) - set(kept) == {"FlinkRemediatorEventLagHigh", "FlinkRemediatorAbsent"}


def test_disabling_every_alert_of_a_group_drops_the_group() -> None:
    availability = [
        "FlinkRemediatorDown",
        "FlinkRemediatorAbsent",
        "FlinkRemediatorStateStoreUnavailable",
    ]
    spec = render(with_monitoring(prometheusRule={"disabled": availability})).one("PrometheusRule")[
        "spec"
    ]
    assert "flink-remediator-availability" not in [group["name"] for group in spec["groups"]]


def test_disabling_an_unknown_alert_fails_the_render() -> None:
    with pytest.raises(Exception, match="FlinkRemediatorTypo is not an alert"):
        render(with_monitoring(prometheusRule={"disabled": ["FlinkRemediatorTypo"]}))


def test_disabled_names_are_checked_by_the_schema() -> None:
    with pytest.raises(HelmValuesError):
        render(with_monitoring(prometheusRule={"disabled": ["EventLagHigh"]}))


def test_prometheus_rule_carries_the_selector_labels() -> None:
    values = with_monitoring(prometheusRule={"labels": {"release": "kube-prometheus-stack"}})
    labels = render(values).one("PrometheusRule")["metadata"]["labels"]
    assert labels["release"] == "kube-prometheus-stack"


DOCS_RUNBOOKS = "https://github.com/flink-remediator/flink-remediator/blob/main/docs/runbooks.md"


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (None, DOCS_RUNBOOKS),
        (
            "https://wiki.bank.example/display/OPS/Flink+Remediator/",
            "https://wiki.bank.example/display/OPS/Flink+Remediator",
        ),
    ],
    ids=["default", "internal wiki"],
)
def test_runbook_urls_follow_the_runbook_base_url(base: str | None, expected: str) -> None:
    values = with_monitoring(prometheusRule={"runbookBaseUrl": base} if base else {})
    urls = {name: rule["annotations"]["runbook_url"] for name, rule in rules(values).items()}
    assert len(urls) >= 10
    assert urls == {name: f"{expected}#{name.lower()}" for name in urls}


@pytest.mark.parametrize("base", ["wiki/runbooks", "https://wiki.example/runbooks#x", ""])
def test_a_runbook_base_url_that_is_not_a_url_is_refused(base: str) -> None:
    with pytest.raises(HelmValuesError):
        render(with_monitoring(prometheusRule={"runbookBaseUrl": base}))
