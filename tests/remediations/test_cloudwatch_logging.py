"""cloudwatch_logging: pure check and fix, with property tests over generated states."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from daemon.state import AppRef, Observed
from remediations.cloudwatch_logging import (
    CloudwatchLogging,
    LogDestination,
    Settings,
    split_stream_arn,
)
from tests.contract.harness import Harness
from tests.contract.scenarios import Scenario, flink, plain
from tests.factories import APP, flink_detail, observed, stream_arn

RULE = CloudwatchLogging()
SETTINGS = Settings()
GOOD_MONITORING = {"ConfigurationType": "CUSTOM", "LogLevel": "INFO", "MetricsLevel": "APPLICATION"}
FACTS_OK = {"cloudwatch_logging": LogDestination(group_exists=True, stream_exists=True)}

monitoring = st.fixed_dictionaries(
    {
        "ConfigurationType": st.sampled_from(["CUSTOM", "DEFAULT"]),
        "LogLevel": st.sampled_from(["INFO", "WARN", "ERROR", "DEBUG"]),
        "MetricsLevel": st.sampled_from(["APPLICATION", "TASK", "OPERATOR", "PARALLELISM"]),
    }
)
streams = st.lists(
    st.sampled_from([stream_arn(), stream_arn(stream="other"), stream_arn(stream="x")]),
    max_size=2,
    unique=True,
)
facts = st.builds(LogDestination, st.booleans(), st.booleans())
states = st.builds(
    lambda mon, arns, fact: observed(
        flink_detail(log_streams=tuple(arns), monitoring=mon), {RULE.id: fact}
    ),
    monitoring,
    streams,
    facts,
)


def test_compliant_app_has_no_drift() -> None:
    state = observed(
        flink_detail(log_streams=(stream_arn(),), monitoring=GOOD_MONITORING), FACTS_OK
    )
    assert RULE.check(SETTINGS, state) == ()


@given(monitoring, streams, facts)
def test_drift_fields_are_exactly_the_differences(
    mon: dict[str, str], arns: list[str], fact: LogDestination
) -> None:
    detail = flink_detail(log_streams=tuple(arns), monitoring=mon)
    fields = {d.field for d in RULE.check(SETTINGS, observed(detail, {RULE.id: fact}))}
    expected = {f"MonitoringConfiguration.{k}" for k, v in GOOD_MONITORING.items() if mon[k] != v}
    if stream_arn() not in arns:
        expected.add("CloudWatchLoggingOptions")
    if not fact.group_exists:
        expected.add("LogGroup")
    if not fact.stream_exists:
        expected.add("LogStream")
    assert fields == expected


@given(states)
def test_fix_makes_at_most_two_application_calls(state: Observed) -> None:
    arns = [o["LogStreamARN"] for o in state.detail["CloudWatchLoggingOptionDescriptions"]]
    drifts = RULE.check(SETTINGS, state)
    calls = RULE.fix(SETTINGS, state, drifts)
    app_calls = [c for c in calls if c.service == "kinesisanalyticsv2"]
    assert all(c.versioned for c in app_calls)
    assert len(app_calls) <= 2
    assert len([c for c in app_calls if c.operation == "UpdateApplication"]) <= 1
    if arns and stream_arn() not in arns:
        # Repointing an existing option never adds a second one.
        assert not any(c.operation == "AddApplicationCloudWatchLoggingOption" for c in calls)
    if not drifts:
        assert calls == ()


def test_sql_applications_are_not_checked_for_flink_monitoring() -> None:
    detail = flink_detail(log_streams=(stream_arn(),), runtime="SQL-1_0")
    assert RULE.applies(detail)  # every runtime logs
    assert RULE.check(SETTINGS, observed(detail, FACTS_OK)) == ()


def test_template_expands_per_application() -> None:
    settings = Settings(
        log_stream_arn="arn:aws:logs:{region}:{account}:log-group:/flink/{application}:log-stream:main"
    )
    assert (
        settings.stream_arn(APP)
        == f"arn:aws:logs:us-east-1:{APP.account}:log-group:/flink/orders:log-stream:main"
    )
    assert split_stream_arn(settings.stream_arn(APP)) == ("/flink/orders", "main")


def _logging_compliant(h: Harness, settings: Settings, name: str) -> AppRef:
    arn = settings.stream_arn(h.app(name))
    group, stream = split_stream_arn(arn)
    logs = h.client("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    monitoring: dict[str, Any] = {
        "ConfigurationType": "CUSTOM",
        "LogLevel": settings.log_level,
        "MetricsLevel": settings.metrics_level,
    }
    return h.create_app(
        name,
        flink("MonitoringConfiguration", monitoring),
        CloudWatchLoggingOptions=[{"LogStreamARN": arn}],
    )


SCENARIO = Scenario(lambda h: Settings(), _logging_compliant, plain())
