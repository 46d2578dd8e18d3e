"""Pure parts: ASFF fields, the publisher's status transitions (memory only, no flush), and the
`evidence:` / `controls:` config sections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon.aws import AwsByRegion
from daemon.desired.config import SecurityHubSettings
from daemon.desired.loader import parse_config
from daemon.errors import ConfigError
from daemon.evidence.asff import FindingRecord, build_finding, finding_id
from daemon.evidence.securityhub import SecurityHubPublisher
from daemon.reconcile.safeguards import Safeguards
from daemon.reconcile.verdicts import Verdict
from daemon.state import AppRef, Cause, Drift
from daemon.tasks import Tasks
from tests.clock import RecordedSchedule

APP = AppRef("123456789012", "eu-west-1", "orders")
ROLE = "arn:aws:iam::123456789012:role/orders-execution"
DRIFT = Drift(
    "execution_role_trust",
    APP,
    "Condition",
    {},
    {"aws:SourceAccount": "1"},
    "no conditions",
    resource=ROLE,
)
BASE = "---\nversion: 1\naccounts: ['123456789012']\nregions: [eu-west-1]\n"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def publisher() -> SecurityHubPublisher:
    settings = SecurityHubSettings(enabled=True, runbook_url="https://example.invalid/runbooks.md")
    return SecurityHubPublisher(
        AwsByRegion(), settings, "eu-west-1", {}, safeguards=Safeguards(Clock())
    )


def pending(p: SecurityHubPublisher) -> list[FindingRecord]:
    return list(p._pending.values())


def test_finding_names_the_role_as_a_resource_and_keeps_a_stable_id() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    record = FindingRecord(
        APP, "execution_role_trust", "Trust", "FAILED", (DRIFT,), "arn:alice", now, now
    )
    finding = build_finding(record, "us-east-1", "HIGH", "https://x.invalid/r.md#a")
    assert (
        finding["Id"]
        == finding_id(APP, "execution_role_trust")
        == f"{APP.arn}/flink-remediator/execution_role_trust"
    )
    assert (
        finding["ProductArn"]
        == "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    )
    assert [(r["Type"], r["Id"]) for r in finding["Resources"]] == [
        ("Other", APP.arn),
        ("AwsIamRole", ROLE),
    ]
    assert (
        finding["Severity"] == {"Label": "HIGH"}
        and finding["CreatedAt"] == "2026-01-01T00:00:00.000Z"
    )


def test_dry_run_verdict_is_failed_then_an_outside_fix_is_cleared_by_that_actor() -> None:
    p = publisher()
    p.record(
        Verdict(
            APP,
            "execution_role_trust",
            True,
            (DRIFT,),
            "planned",
            Cause("event", "e1", "arn:alice"),
        )
    )
    [failed] = pending(p)
    assert (failed.status, failed.drift_by) == ("FAILED", "arn:alice")
    p._safeguards.record_finding(failed)  # as a flush Security Hub accepted records it
    p._pending.clear()
    p.record(Verdict(APP, "execution_role_trust", True, (DRIFT,), "planned", Cause("sweep")))
    assert pending(p) == []  # unchanged: nothing to send
    p.record(Verdict(APP, "execution_role_trust", False, (), None, Cause("event", "e2", "arn:bob")))
    [cleared] = pending(p)
    assert (cleared.status, cleared.resolution, cleared.resolved_by) == (
        "PASSED",
        "cleared",
        "arn:bob",
    )
    assert cleared.first_seen == failed.first_seen and cleared.drift_by == "arn:alice"


def test_a_fix_by_the_daemon_names_the_daemon_and_what_changed() -> None:
    p = publisher()
    p.set_identity("arn:aws:iam::123456789012:user/flink-remediator")
    p.record(
        Verdict(
            APP,
            "execution_role_trust",
            False,
            (DRIFT,),
            "applied",
            Cause("event", "e", "arn:alice"),
        )
    )
    [fixed] = pending(p)
    assert (fixed.status, fixed.resolution) == ("PASSED", "fixed")
    assert fixed.resolved_by.endswith("user/flink-remediator") and fixed.drift_by == "arn:alice"
    finding = build_finding(fixed, "eu-west-1", "HIGH", "u")
    assert finding["Workflow"] == {"Status": "RESOLVED"}
    assert "Condition: {} -> " in finding["ProductFields"]["flink-remediator/Changes"]


class Hub:
    """Security Hub: records each BatchImportFindings; holds no finding yet (GetFindings at
    start answers none)."""

    def __init__(self) -> None:
        self.imported: list[dict[str, Any]] = []

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        if (service, operation) == ("securityhub", "GetFindings"):
            return {"Findings": []}
        assert (service, operation) == ("securityhub", "BatchImportFindings")
        self.imported += params["Findings"]
        return {"FailedFindings": []}


def test_in_the_daemon_findings_flush_on_schedule_and_once_more_at_stop() -> None:
    hub = Hub()
    settings = SecurityHubSettings(enabled=True, flush_interval_seconds=30)
    regions = AwsByRegion(lambda region: hub)  # type: ignore[arg-type,return-value]
    p = SecurityHubPublisher(regions, settings, "eu-west-1", {}, safeguards=Safeguards(Clock()))
    tasks, schedule = Tasks(), RecordedSchedule()
    p.register(tasks, schedule, "arn:aws:iam::123456789012:user/flink-remediator")
    assert schedule.jobs == {"evidence_flush": (p.flush, 30.0, False)}
    tasks.start()
    p.record(Verdict(APP, "execution_role_trust", False, (DRIFT,), "applied", Cause("sweep")))
    assert hub.imported == []  # recorded in memory only
    assert tasks.stop() == ("evidence",)  # the last flush: after the workers drained
    [finding] = hub.imported
    assert finding["Id"] == finding_id(APP, "execution_role_trust")
    assert finding["Workflow"] == {"Status": "RESOLVED"}
    fixer = finding["ProductFields"]["flink-remediator/ResolvedBy"]
    assert fixer == "arn:aws:iam::123456789012:user/flink-remediator"


def test_config_sections_parse_and_bad_ones_name_the_line() -> None:
    config = parse_config(
        BASE + "evidence:\n  security_hub: {enabled: true, severity: {snapshots: HIGH}}\n"
        "controls:\n  cloudwatch_logging: ['PCI DSS 10.2']\n"
    )
    assert config.security_hub.enabled and config.security_hub.severity == {"snapshots": "HIGH"}
    assert config.controls == {"cloudwatch_logging": ("PCI DSS 10.2",)}
    assert not parse_config(BASE).security_hub.enabled
    with pytest.raises(ConfigError) as err:
        parse_config(BASE + "controls:\n  logging: [x]\nevidence: {security_hub: {region: Mars}}\n")
    assert any(":6: controls.logging: unknown key" in p for p in err.value.problems)
    assert any(":7: evidence.security_hub.region" in p for p in err.value.problems)


def test_shipped_examples_are_valid_configs() -> None:
    import yaml

    base = yaml.safe_load(Path("config/desired-state.example.yaml").read_text())
    assert parse_config(yaml.safe_dump(base)).controls
    base["controls"] = yaml.safe_load(Path("config/controls.example.yaml").read_text())["controls"]
    assert "vpc_public_route" in parse_config(yaml.safe_dump(base)).controls
