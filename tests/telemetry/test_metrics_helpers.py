"""The helpers record what they say, reject unknown label values and keep series bounded."""

from __future__ import annotations

import pytest

from daemon import __version__, vocabulary
from daemon.state import AppRef
from daemon.telemetry import metrics

REG = metrics.REGISTRY
APP = AppRef("111122223333", "eu-west-1", "helpers-test-app")
OTHER = AppRef("111122223333", "eu-west-1", "helpers-test-other")


def _value(name: str, **labels: str) -> float | None:
    return REG.get_sample_value(name, labels)


def _app(app: AppRef, rule: str) -> dict[str, str]:
    return {"account": app.account, "region": app.region, "application": app.name, "rule": rule}


def test_build_info_is_set_at_import() -> None:
    assert _value("flink_remediator_build_info", version=__version__) == 1


def test_enumerated_series_exist_at_zero_before_the_first_event() -> None:
    assert _value("flink_remediator_events_ignored_total", reason="own_identity") is not None
    assert _value("flink_remediator_reconciles_total", trigger="event", result="error") is not None


def test_unknown_enumerated_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="reason='typo'"):
        metrics.count_event_ignored("typo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outcome"):
        metrics.count_remediation("r", "done", "enforce")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="queue"):
        metrics.set_queue_depth("main", 1)  # type: ignore[arg-type]
    assert _value("flink_remediator_events_ignored_total", reason="typo") is None


def test_unknown_event_sources_count_as_other() -> None:
    before = _value("flink_remediator_events_received_total", source="other") or 0
    metrics.count_event_received("aws.s3")
    assert _value("flink_remediator_events_received_total", source="other") == before + 1
    assert _value("flink_remediator_events_received_total", source="aws.s3") is None


def test_declare_rule_creates_zero_counters_for_its_mode() -> None:
    metrics.declare_rule("helpers_declared", "alert")
    for outcome in vocabulary.OUTCOMES:
        value = _value(
            "flink_remediator_remediations_total",
            rule="helpers_declared",
            outcome=outcome,
            mode="alert",
        )
        assert value == 0
    assert _value("flink_remediator_drifts_detected_total", rule="helpers_declared") == 0


def test_violation_and_fight_gauges_and_forget_application() -> None:
    metrics.set_violation(APP, "vpc_public_route", True)
    metrics.set_fight(APP, "cloudwatch_logging", True)
    metrics.set_violation(OTHER, "vpc_public_route", True)
    assert _value("flink_remediator_violation_active", **_app(APP, "vpc_public_route")) == 1
    metrics.set_violation(APP, "vpc_public_route", False)  # compliant: its series is removed
    assert _value("flink_remediator_violation_active", **_app(APP, "vpc_public_route")) is None
    compliant = {"rule": "vpc_public_route", "account": APP.account, "region": APP.region}
    assert _value("flink_remediator_compliant_apps", **compliant) == 1
    assert _value("flink_remediator_fight_active", **_app(APP, "cloudwatch_logging")) == 1

    metrics.forget_application(APP)
    assert _value("flink_remediator_compliant_apps", **compliant) is None
    assert _value("flink_remediator_violation_active", **_app(APP, "vpc_public_route")) is None
    assert _value("flink_remediator_fight_active", **_app(APP, "cloudwatch_logging")) is None
    assert _value("flink_remediator_violation_active", **_app(OTHER, "vpc_public_route")) == 1
    metrics.forget_application(OTHER)
    metrics.forget_application(OTHER)  # forgetting twice is harmless
    body, _ = metrics.render()
    assert b"helpers-test" not in body


def test_set_config_keeps_one_hash() -> None:
    metrics.set_config("a" * 64)
    metrics.set_config("b" * 64)
    assert _value("flink_remediator_config_info", sha256="a" * 64) is None
    assert _value("flink_remediator_config_info", sha256="b" * 64) == 1


def test_sweep_and_lag() -> None:
    count = _value("flink_remediator_sweep_duration_seconds_count") or 0
    metrics.record_sweep(3.0, succeeded=False)
    metrics.record_sweep(4.0, succeeded=True, finished_at=1_700_000_000.0)
    assert _value("flink_remediator_sweep_duration_seconds_count") == count + 2
    assert _value("flink_remediator_last_sweep_success_timestamp_seconds") == 1_700_000_000.0
    metrics.record_sweep(5.0, succeeded=False)
    assert _value("flink_remediator_last_sweep_success_timestamp_seconds") == 1_700_000_000.0

    zero_bucket = _value("flink_remediator_event_lag_seconds_bucket", le="1.0") or 0
    metrics.observe_event_lag(-30.0)  # clock skew
    assert _value("flink_remediator_event_lag_seconds_bucket", le="1.0") == zero_bucket + 1


def test_render_negotiates_openmetrics() -> None:
    body, content_type = metrics.render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")
    _, plain = metrics.render(None)
    assert plain.startswith("text/plain")
