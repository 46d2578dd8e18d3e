"""Safe remediation of running applications, against the sandbox over HTTP (issue 13).

Transitions last 60 s of the sandbox's clock, so only `advance_clock` ends them: a test never
sleeps. Disruption windows and backoffs read injected clocks.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from daemon.aws import Aws
from daemon.reconcile.reconciler import EnabledRules, Reconciler
from daemon.reconcile.report import render_text, to_json
from daemon.reconcile.result import ReconcileResult
from daemon.reconcile.safeguards import BudgetSettings, Safeguards, WallClock
from daemon.state import AppRef, Cause
from daemon.telemetry import metrics
from remediations.checkpointing import Checkpointing
from remediations.checkpointing import Settings as CheckpointSettings
from remediations.cloudwatch_logging import CloudwatchLogging
from remediations.cloudwatch_logging import Settings as LoggingSettings
from remediations.disruption import Disruption
from remediations.encryption import Encryption
from remediations.encryption import Settings as EncryptionSettings
from remediations.vpc_required import Settings as VpcSettings
from remediations.vpc_required import VpcRequired
from sandbox.server import Sandbox
from sandbox.testing import advance_clock, control, create_user, execution_role, next_update
from tests.clock import FakeWall
from tests.contract.harness import Harness
from tests.vpc_factories import build_network

pytestmark = pytest.mark.e2e

TRANSITION = 60.0
FRIDAY_NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SATURDAY_0230 = datetime(2026, 12, 5, 2, 30, tzinfo=UTC)  # Europe/London is UTC in December
WINDOW = Disruption(running="window", windows=("Sat 02:00-05:00 Europe/London",))
ALLOW = Disruption(running="allow")
NO_CHECKPOINTS = {
    "FlinkApplicationConfiguration": {
        "CheckpointConfiguration": {
            "ConfigurationType": "CUSTOM",
            "CheckpointingEnabled": False,
            "CheckpointInterval": 60_000,
            "MinPauseBetweenCheckpoints": 5_000,
        }
    },
    "ApplicationSystemRollbackConfiguration": {"RollbackEnabled": True},
}

PROTECTED = {"ApplicationSystemRollbackConfiguration": {"RollbackEnabled": True}}


@pytest.fixture
def h(fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    control(fresh_sandbox.endpoint_url, "/_sandbox/config", transition_seconds=TRANSITION)
    yield Harness.start(fresh_sandbox, monkeypatch)
    control(fresh_sandbox.endpoint_url, "/_sandbox/config", transition_seconds=0.3)


class Wall:
    """The injected wall clock of disruption windows."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def reconciler(
    h: Harness, rules: EnabledRules, wall: WallClock, budget: BudgetSettings | None = None
) -> Reconciler:
    safeguards = Safeguards(wall, budget)
    return Reconciler(lambda _: h.aws, lambda _a, _t: list(rules), safeguards=safeguards)


def advance(h: Harness, seconds: float) -> None:
    advance_clock(h.sandbox.endpoint_url, seconds)


def status(h: Harness, name: str) -> dict[str, Any]:
    detail: dict[str, Any] = h.client("kinesisanalyticsv2").describe_application(
        ApplicationName=name
    )["ApplicationDetail"]
    return detail


def running_app(h: Harness, name: str, configuration: dict[str, Any]) -> AppRef:
    app = h.create_app(name, configuration)
    h.client("kinesisanalyticsv2").start_application(ApplicationName=name)
    advance(h, TRANSITION)
    assert status(h, name)["ApplicationStatus"] == "RUNNING"
    return app


def gauge(name: str, app: AppRef, rule: str) -> float | None:
    labels = {"account": app.account, "region": app.region, "application": app.name}
    return metrics.REGISTRY.get_sample_value(name, {**labels, "rule": rule})


def counter(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def outcomes(result: ReconcileResult) -> list[tuple[tuple[str, ...], str]]:
    return [(o.action.rules, o.outcome) for o in result.outcomes]


def test_a_restarting_fix_waits_for_the_window_and_is_made_when_it_opens(h: Harness) -> None:
    logging = LoggingSettings(disruption=WINDOW)
    # System rollback on: without it the fix is held outright (require_system_rollback).
    app = running_app(h, "payments", PROTECTED)
    # An outsider removed the logging option: the app has none now.
    assert status(h, "payments").get("CloudWatchLoggingOptionDescriptions", []) == []
    wall = Wall(FRIDAY_NOON)
    rules: EnabledRules = [(CloudwatchLogging(), logging, "enforce")]
    r = reconciler(h, rules, wall)
    h.clear_calls()

    deferred = r.reconcile(app, Cause("sweep"))

    assert h.mutating_calls() == []
    assert outcomes(deferred) == [(("cloudwatch_logging",), "deferred")]
    assert deferred.next == "done" and deferred.result == "drift"
    text = io.StringIO()
    render_text([deferred], text, dry_run=False)
    assert (
        "deferred until 2026-12-05T02:00:00+00:00 (restarts the running application)"
        in text.getvalue()
    )
    (action,) = json.loads(to_json([deferred], False))["applications"][0]["actions"]
    assert (action["outcome"], action["restarts"]) == ("deferred", True)
    assert action["deferred_until"] == "2026-12-05T02:00:00+00:00"
    assert gauge("flink_remediator_fix_deferred", app, "cloudwatch_logging") == 1
    assert gauge("flink_remediator_violation_active", app, "cloudwatch_logging") == 1
    # The runtime's scheduled job: nothing due before the opening, this app at the opening.
    assert r.safeguards.next_opening(app) == datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    assert r.safeguards.due([(app.account, app.region)], FRIDAY_NOON) == []
    assert r.safeguards.due([(app.account, app.region)], SATURDAY_0230) == [app]

    wall.now = SATURDAY_0230  # the scheduled job's reconcile, inside the window
    started = r.reconcile(app, Cause("sweep"))
    assert "AddApplicationCloudWatchLoggingOption" in h.mutating_calls()
    assert started.next == "retry" and 0 < started.retry_after_seconds <= 60
    assert ("cloudwatch_logging",) in [o.action.rules for o in started.outcomes]
    assert gauge("flink_remediator_fix_deferred", app, "cloudwatch_logging") is None

    advance(h, TRANSITION)  # the logging option is added (SUCCESSFUL)
    step = r.reconcile(app, Cause("sweep"))
    (applied,) = [o for o in step.outcomes if o.outcome == "applied"]
    assert {d.field for d in applied.action.drifts} == {
        "LogGroup",
        "LogStream",
        "CloudWatchLoggingOptions",
    }
    assert status(h, "payments")["CloudWatchLoggingOptionDescriptions"]
    # The fix's second change (monitoring levels) follows in the same reconcile.
    assert step.next == "retry" and h.mutating_calls()[-1] == "UpdateApplication"
    assert gauge("flink_remediator_violation_active", app, "cloudwatch_logging") == 1
    advance(h, TRANSITION)
    finished = r.reconcile(app, Cause("sweep"))
    assert outcomes(finished) == [(("cloudwatch_logging",), "applied")]
    assert finished.next == "done"
    assert gauge("flink_remediator_violation_active", app, "cloudwatch_logging") is None


def test_by_default_a_running_app_is_only_alerted_and_a_ready_app_is_fixed(h: Harness) -> None:
    rules: EnabledRules = [(Checkpointing(), CheckpointSettings(), "enforce")]
    running = running_app(h, "running", NO_CHECKPOINTS)
    ready = h.create_app("ready", NO_CHECKPOINTS)
    r = reconciler(h, rules, Wall(FRIDAY_NOON))
    h.clear_calls()
    alerted = r.reconcile(running, Cause("sweep"))
    assert h.mutating_calls() == []
    (outcome,) = alerted.outcomes
    assert outcome.outcome == "alerted" and "disruption.running: alert" in outcome.error
    assert r.reconcile(ready, Cause("sweep")).result == "fixed"
    assert h.mutating_calls() == ["UpdateApplication"]


def test_a_rolled_back_fix_is_recorded_and_not_retried_during_the_backoff(h: Harness) -> None:
    rules: EnabledRules = [(Checkpointing(), CheckpointSettings(disruption=ALLOW), "enforce")]
    app = running_app(h, "ledger", NO_CHECKPOINTS)
    ticks = FakeWall(1000.0, start=FRIDAY_NOON)
    budget = BudgetSettings(1, 3600)  # one charged fix would spend it
    r = reconciler(h, rules, ticks, budget=budget)
    before = counter(
        "flink_remediator_fix_operations_failed_total", rule="checkpointing", outcome="rolled_back"
    )
    next_update(h.sandbox.endpoint_url, "ledger", "rollback", TRANSITION)
    h.clear_calls()

    started = r.reconcile(app, Cause("sweep"))
    assert outcomes(started) == [(("checkpointing",), "pending")]
    assert started.next == "retry" and h.mutating_calls() == ["UpdateApplication"]
    advance(h, TRANSITION)  # UPDATING ends; ROLLING_BACK begins
    busy = r.reconcile(app, Cause("sweep"))
    assert busy.next == "retry" and busy.outcomes == ()
    advance(h, TRANSITION)  # the rollback ends: RUNNING on the previous configuration
    settled = r.reconcile(app, Cause("sweep"))

    assert (("checkpointing",), "rolled_back") in outcomes(settled)
    (rolled,) = [o for o in settled.outcomes if o.outcome == "rolled_back"]
    assert "rolled back by" in rolled.error
    assert (
        counter(
            "flink_remediator_fix_operations_failed_total",
            rule="checkpointing",
            outcome="rolled_back",
        )
        == before + 1
    )
    assert gauge("flink_remediator_violation_active", app, "checkpointing") == 1
    # A fix that did not hold is not charged.
    assert r.safeguards.within_budget(app, "checkpointing")
    for _ in range(3):  # three further sweeps: reported, never re-fixed
        again = r.reconcile(app, Cause("sweep"))
        assert [o.outcome for o in again.outcomes] == ["skipped"]
        assert "backing off" in again.outcomes[0].error
    assert h.mutating_calls() == ["UpdateApplication"]


def test_a_ten_minute_update_returns_at_once_with_a_retry(h: Harness) -> None:
    rules: EnabledRules = [(Checkpointing(), CheckpointSettings(disruption=ALLOW), "enforce")]
    app = running_app(h, "slow", NO_CHECKPOINTS)
    r = reconciler(h, rules, Wall(FRIDAY_NOON))
    next_update(h.sandbox.endpoint_url, "slow", "succeed", 600)
    h.clear_calls()
    started = time.monotonic()
    first = r.reconcile(app, Cause("event"))
    assert time.monotonic() - started < 5  # never a settle wait in the worker
    assert (first.next, first.result) == ("retry", "drift")
    assert len(h.recorded_calls(operation="DescribeApplication")) <= 2
    polled = r.reconcile(app, Cause("event"))  # still UPDATING: look again later
    assert polled.next == "retry" and polled.retry_after_seconds > 0
    advance(h, 600)
    done = r.reconcile(app, Cause("event"))
    assert (("checkpointing",), "applied") in outcomes(done) and done.next == "done"
    assert h.mutating_calls() == ["UpdateApplication"]


def test_access_denied_is_terminal_with_the_violation_active(h: Harness) -> None:
    app = h.create_app("denied", NO_CHECKPOINTS)
    user = create_user(h.client("iam"), "reader")
    read_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kinesisanalytics:Describe*", "kinesisanalytics:List*"],
                "Resource": "*",
            }
        ],
    }
    h.client("iam").put_user_policy(
        UserName="reader", PolicyName="read", PolicyDocument=json.dumps(read_only)
    )
    session = boto3.session.Session(
        aws_access_key_id=user.access_key_id,
        aws_secret_access_key=user.secret_access_key,
        region_name=h.sandbox.region,
    )
    reader = Aws(h.sandbox.region, session=session, max_backoff_seconds=0.2)
    rules: EnabledRules = [(Checkpointing(), CheckpointSettings(), "enforce")]
    safeguards = Safeguards(Wall(FRIDAY_NOON))
    r = Reconciler(lambda _: reader, lambda _a, _t: list(rules), safeguards=safeguards)
    control(h.sandbox.endpoint_url, "/_sandbox/config", enforce_iam=True)
    try:
        result = r.reconcile(app, Cause("event"))
    finally:
        control(h.sandbox.endpoint_url, "/_sandbox/config", enforce_iam=False)
    assert result.next == "terminal" and "AccessDenied" in result.error
    assert gauge("flink_remediator_violation_active", app, "checkpointing") == 1


def test_a_rejected_key_does_not_stop_the_checkpointing_fix(h: Harness) -> None:
    app = h.create_app("mixed", NO_CHECKPOINTS)
    missing_key = f"arn:aws:kms:{h.sandbox.region}:{h.sandbox.account_id}:key/" + "0" * 32
    rules: EnabledRules = [
        (Encryption(), EncryptionSettings(key_id=missing_key), "enforce"),
        (Checkpointing(), CheckpointSettings(), "enforce"),
    ]
    r = reconciler(h, rules, Wall(FRIDAY_NOON))
    h.clear_calls()
    result = r.reconcile(app, Cause("sweep"))

    assert sorted(outcomes(result)) == [
        (("checkpointing",), "applied"),
        (("encryption",), "failed"),
    ]
    (failed,) = [o for o in result.outcomes if o.outcome == "failed"]
    assert missing_key in failed.error  # the service's own words, whatever field they name
    assert result.next == "terminal"  # the key's rejection will not go away by retrying
    checkpoints = status(h, "mixed")["ApplicationConfigurationDescription"][
        "FlinkApplicationConfigurationDescription"
    ]["CheckpointConfigurationDescription"]
    assert checkpoints["CheckpointingEnabled"] is True
    calls = h.recorded_calls(operation="UpdateApplication")
    # merged (rejected), then by halves: encryption alone (rejected), checkpointing alone
    assert [c["error_code"] for c in calls] == [
        "InvalidArgumentException",
        "InvalidArgumentException",
        None,
    ]
    assert gauge("flink_remediator_violation_active", app, "encryption") == 1
    assert gauge("flink_remediator_violation_active", app, "checkpointing") is None


def test_notebooks_are_untouched_by_vpc_required(h: Harness) -> None:
    net = build_network(h.client("ec2"), h.sandbox.region)
    h.client("kinesisanalyticsv2").create_application(
        ApplicationName="studio",
        RuntimeEnvironment="ZEPPELIN-FLINK-3_0",
        ApplicationMode="INTERACTIVE",
        ServiceExecutionRole=execution_role(h.client("iam")),
        ApplicationConfiguration={},
    )
    settings = VpcSettings(
        subnet_ids=(net.subnet_a,), security_group_ids=(net.group,), add_vpc_configuration=True
    )
    rules: EnabledRules = [(VpcRequired(), settings, "enforce")]
    r = reconciler(h, rules, Wall(FRIDAY_NOON))
    h.clear_calls()
    result = r.reconcile(h.app("studio"), Cause("sweep"))
    assert result.result == "in_sync" and result.outcomes == ()
    assert h.mutating_calls() == []
