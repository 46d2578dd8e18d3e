"""docs/metrics.md and daemon/telemetry/metrics.py describe exactly the same metrics."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from daemon import vocabulary
from daemon.state import MODES, AppRef
from daemon.telemetry import metrics
from tests.telemetry.catalogue import (
    METRICS_DOC,
    DocumentedMetric,
    documented_label_values,
    documented_metrics,
)

APP = AppRef("111122223333", "eu-west-1", "catalogue-test-app")
COMPLIANT_APP = AppRef("111122223333", "eu-west-1", "catalogue-compliant-app")


@pytest.fixture(scope="module")
def exposed() -> Iterator[dict[str, DocumentedMetric]]:
    """Every helper called once, then the /metrics body parsed back: what a scrape sees."""
    metrics.count_event_received("aws.iam")
    metrics.count_event_ignored("duplicate")
    metrics.count_reconcile("sweep", "in_sync")
    metrics.declare_rule("catalogue_rule", "enforce")
    metrics.count_drifts("catalogue_rule")
    metrics.count_remediation("catalogue_rule", "applied", "enforce")
    metrics.observe_remediation_duration("catalogue_rule", 0.3)
    metrics.set_violation(APP, "catalogue_rule", True)
    metrics.set_fight(APP, "catalogue_rule", True)  # series exist only at 1
    metrics.set_fix_deferred(APP, "catalogue_rule", True)
    metrics.set_violation(COMPLIANT_APP, "catalogue_rule", False)  # counted in compliant_apps
    metrics.count_fix_operation_failed("catalogue_rule", "rolled_back")
    metrics.set_application_count(APP.account, APP.region, 1)
    metrics.observe_event_lag(2.0)
    metrics.count_aws_call("kinesisanalyticsv2", "DescribeApplication")
    metrics.count_aws_error("kinesisanalyticsv2", "DescribeApplication", "ThrottlingException")
    metrics.count_aws_retry("kinesisanalyticsv2", "DescribeApplication")
    metrics.count_rate_limit_wait("kinesisanalyticsv2", 0.5)
    metrics.record_sweep(12.0, succeeded=True)
    metrics.set_queue_depth("dlq", 0)
    metrics.set_work_queue_depth(0)
    metrics.count_config_reload("applied")
    metrics.count_own_write_checked("explained")
    metrics.count_unexplained_own_write("UpdateApplication", "unledgered")
    metrics.set_config("0" * 64)
    metrics.set_waived(APP, "catalogue_rule", "WVR-1", True)
    metrics.set_waiver_expiries({"WVR-1": 3600.0}, 14 * 86400.0)
    metrics.set_expired_waivers(("WVR-0",))
    metrics.count_approval("used")
    body, _ = metrics.render()
    found: dict[str, DocumentedMetric] = {}
    for family in text_string_to_metric_families(body.decode()):
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = {key for sample in family.samples for key in sample.labels if key != "le"}
        found[name] = DocumentedMetric(name, family.type, tuple(sorted(labels)))
    yield found
    metrics.forget_application(APP)
    metrics.set_waived(APP, "catalogue_rule", "WVR-1", False)
    metrics.set_waiver_expiries({}, 14 * 86400.0)
    metrics.forget_application(COMPLIANT_APP)
    metrics.set_expired_waivers(())


def _sorted_labels(metric: DocumentedMetric) -> DocumentedMetric:
    return DocumentedMetric(metric.name, metric.type, tuple(sorted(metric.labels)))


def test_docs_list_exactly_the_registered_metrics(exposed: dict[str, DocumentedMetric]) -> None:
    documented = documented_metrics("Catalogue") | documented_metrics("Standard collectors")
    assert set(documented) == set(exposed)
    for name, metric in documented.items():
        assert _sorted_labels(metric) == exposed[name], name


def test_catalogue_is_the_prefixed_part(exposed: dict[str, DocumentedMetric]) -> None:
    own = {name for name in exposed if name.startswith("flink_remediator_")}
    assert own == set(documented_metrics("Catalogue"))


def test_documented_label_values_are_the_enforced_ones() -> None:
    expected = {
        ("flink_remediator_events_received_total", "source"): metrics.EVENT_SOURCES,
        ("flink_remediator_events_ignored_total", "reason"): metrics.IGNORE_REASONS,
        ("flink_remediator_reconciles_total", "trigger"): vocabulary.TRIGGERS,
        ("flink_remediator_reconciles_total", "result"): vocabulary.RESULTS,
        ("flink_remediator_remediations_total", "outcome"): vocabulary.OUTCOMES,
        ("flink_remediator_remediations_total", "mode"): MODES,
        ("flink_remediator_fix_operations_failed_total", "outcome"): metrics.FIX_FAILURES,
        ("flink_remediator_queue_messages", "queue"): metrics.QUEUE_NAMES,
        ("flink_remediator_sweep_messages_total", "kind"): metrics.SWEEP_MESSAGE_KINDS,
        ("flink_remediator_sweep_messages_total", "outcome"): metrics.SWEEP_MESSAGE_OUTCOMES,
        ("flink_remediator_config_reloads_total", "result"): metrics.CONFIG_RELOAD_RESULTS,
        ("flink_remediator_evidence_findings_total", "result"): metrics.FINDING_RESULTS,
        ("flink_remediator_timer_claims_total", "timer"): metrics.TIMER_NAMES,
        ("flink_remediator_timer_claims_total", "outcome"): metrics.CLAIM_OUTCOMES,
        ("flink_remediator_own_writes_checked_total", "result"): metrics.OWN_WRITE_RESULTS,
        ("flink_remediator_unexplained_own_writes_total", "reason"): metrics.UNEXPLAINED_REASONS,
    }
    assert documented_label_values() == expected


def test_every_documented_label_value_belongs_to_a_documented_label() -> None:
    catalogue = documented_metrics("Catalogue")
    for metric, label in documented_label_values():
        assert label in catalogue[metric].labels, (metric, label)


def test_helper_table_lists_exactly_the_public_helpers() -> None:
    text = METRICS_DOC.read_text(encoding="utf-8")
    section = text.split("## Helper API", 1)[1]
    documented = set(re.findall(r"^\| `(\w+)\(", section, re.M))
    public = {
        name
        for name, value in vars(metrics).items()
        if inspect.isfunction(value)
        and value.__module__ == metrics.__name__
        and not name.startswith("_")
    }
    assert documented == public
