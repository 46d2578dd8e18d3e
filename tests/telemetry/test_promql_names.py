"""The PromQL metric-name reader the alert and dashboard tests rely on."""

from __future__ import annotations

import pytest

from tests.telemetry.catalogue import grafana_query_metric_names, promql_metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('up{job="flink-remediator"} == 0', {"up"}),
        ('absent(up{job="flink-remediator"})', {"up"}),
        (
            "sum by (rule, outcome) (increase(flink_remediator_remediations_total"
            '{outcome="failed", job=~"a|b"}[15m])) > 0',
            {"flink_remediator_remediations_total"},
        ),
        (
            "histogram_quantile(0.95, sum without (instance, pod) "
            "(rate(flink_remediator_event_lag_seconds_bucket[$__rate_interval])))",
            {"flink_remediator_event_lag_seconds_bucket"},
        ),
        (
            "sum(rate(x_sum[5m])) by (le) / on (job) group_left (version) sum(rate(x_count[5m:1m]))"
            " offset 1h",
            {"x_sum", "x_count"},
        ),
        ("time() - max(a > 0 or b) > 3600", {"a", "b"}),
        ("1e3 * rate (a[1m]) and bool 5m", {"a"}),
        ('label_replace(a, "dst", "$1", "src", "(.*)")', {"a"}),
        ('{__name__="named_by_matcher", job="x"}', {"named_by_matcher"}),
        ('${metric_var} + a_total{job="$job"}', {"a_total"}),
        ("topk(5, sum by (rule) (a)) unless ignoring (x) b", {"a", "b"}),
    ],
)
def test_promql_metric_names(expr: str, names: set[str]) -> None:
    assert promql_metric_names(expr) == names


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("label_values(job)", set()),
        ("label_values(flink_remediator_build_info, job)", {"flink_remediator_build_info"}),
        ('label_values(up{job="$job"}, instance)', {"up"}),
        ("sum(rate(a_total[5m]))", {"a_total"}),
    ],
)
def test_grafana_query_metric_names(query: str, names: set[str]) -> None:
    assert grafana_query_metric_names(query) == names
