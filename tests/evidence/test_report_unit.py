"""The report's statuses told apart without AWS: a control that does not concern an app is
`not applicable`, one that was not checked (disabled, opted out, busy) is `not evaluated`, and
neither is counted as compliant."""

from __future__ import annotations

from typing import Any

from daemon.evidence.report import Control, Header, Report, build_report
from daemon.reconcile.result import ReconcileResult
from daemon.reconcile.verdicts import Verdict
from daemon.state import AppRef, Cause

FLINK = AppRef("123456789012", "eu-west-1", "orders")
SQL = AppRef("123456789012", "eu-west-1", "legacy-sql")
IN_VPC: dict[str, Any] = {
    "VpcConfigurationDescriptions": [{"SubnetIds": ["subnet-0123456789abcdef0"]}]
}
HEADER = Header("2026-12-06T19:00:00+00:00", "0.1.0", "c.yaml", "ab" * 32)


def detail(runtime: str = "FLINK-1_20", **configuration: object) -> dict[str, Any]:
    return {"RuntimeEnvironment": runtime, "ApplicationConfigurationDescription": configuration}


def compliant(app: AppRef, rule: str) -> Verdict:
    return Verdict(app, rule, False, (), None, Cause("cli"))


def report(
    results: list[ReconcileResult], verdicts: list[Verdict], *controls: Control, **kw: Any
) -> Report:
    return build_report(results, verdicts, list(controls), HEADER, None, **kw)


def status(done: Report, app: AppRef, control: str) -> tuple[str, str]:
    [row] = [r for r in done.rows_of(app) if r.control.id == control]
    return row.status, row.message or row.evidence


def test_an_app_without_a_vpc_is_not_applicable_for_public_routes() -> None:
    apps = [AppRef("1", "r", "no-vpc"), AppRef("1", "r", "in-vpc")]
    results = [
        ReconcileResult(apps[0], "in_sync", detail=detail()),
        ReconcileResult(apps[1], "in_sync", detail=detail("FLINK-1_20", **IN_VPC)),
    ]
    control = Control("vpc_public_route", "no public route")
    done = report(results, [compliant(a, control.id) for a in apps], control)
    assert status(done, apps[0], control.id)[0] == "not applicable"
    assert status(done, apps[1], control.id) == ("compliant", "subnets subnet-0123456789abcdef0")
    assert dict(done.counts[control.id]) == {
        "compliant": 1,
        "violation": 0,
        "not applicable": 1,
        "not evaluated": 0,
        "error": 0,
    }


def test_an_app_kind_the_rule_does_not_cover_is_not_applicable() -> None:
    result = ReconcileResult(SQL, "in_sync", detail=detail("SQL-1_0"))
    control = Control("vpc_required", "runs in a VPC")
    done = report([result], [compliant(SQL, control.id)], control)
    assert status(done, SQL, control.id) == (
        "not applicable",
        "the rule does not cover SQL-1_0 applications",
    )


def test_disabled_opted_out_and_overridden_rules_are_not_evaluated() -> None:
    results = [
        ReconcileResult(FLINK, "in_sync", detail=detail()),
        ReconcileResult(SQL, "skipped", error="opted out (flink-remediator/ignore=true)"),
    ]
    disabled = Control("encryption", "CMK", ("PCI DSS 3.5",), evaluated=False)
    overridden = Control("snapshots", "snapshots on")  # no verdict: off for this app
    done = report(results, [], disabled, overridden)
    assert status(done, FLINK, "encryption") == ("not evaluated", "rule disabled")
    assert status(done, FLINK, "snapshots") == (
        "not evaluated",
        "rule disabled for this application",
    )
    assert status(done, SQL, "snapshots") == (
        "not evaluated",
        "opted out (flink-remediator/ignore=true)",
    )
    assert done.counts["encryption"]["not evaluated"] == 2


def test_compliant_required_tags_show_the_tags_read() -> None:
    result = ReconcileResult(FLINK, "in_sync", detail=detail())
    control = Control("required_tags", "tags")
    tags = {FLINK: {"team": "payments", "cost-center": "cc-7"}}
    done = report([result], [compliant(FLINK, control.id)], control, tags=tags)
    assert status(done, FLINK, control.id) == ("compliant", "tags cost-center=cc-7; team=payments")
