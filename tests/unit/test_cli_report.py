"""The plan report (text and JSON), `--app` selection, saved plans, and the interruptible pass."""

from __future__ import annotations

import io
import json
import threading
from argparse import Namespace
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from daemon.apply import audit
from daemon.apply.executor import ActionOutcome
from daemon.commands import exits
from daemon.commands.interrupts import Interrupts
from daemon.commands.passes import PassResult, run_pass, select, unmatched_message
from daemon.commands.plan_apply import _report
from daemon.commands.plan_file import PlanFileError, load_plan
from daemon.reconcile.report import render_text, summary_line, to_json, value_text
from daemon.reconcile.result import ReconcileResult
from daemon.state import Action, AppRef, Call, Cause, Drift, Plan
from daemon.vocabulary import Outcome
from remediations import RULES

APP = AppRef("123456789012", "eu-west-1", "payments-enricher")
ROLE = "arn:aws:iam::123456789012:role/payments-enricher-role"
LONG = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "x" * 200}}]}


def drifted_result() -> ReconcileResult:
    drift = Drift(
        "execution_role_trust",
        APP,
        "AssumeRolePolicyDocument",
        {},
        LONG,
        "no confused-deputy condition",
        resource=ROLE,
    )
    call = Call("iam", "UpdateAssumeRolePolicy", {"RoleName": "r", "PolicyDocument": "{}"}, ROLE)
    rule = RULES["execution_role_trust"]
    writes = frozenset(rule.write_actions)  # what plan() gives an action of this rule
    action = Action(APP, (rule.id,), "enforce", (drift,), (call,), write_actions=writes)
    plan = Plan(APP, 7, (action,))
    return ReconcileResult(APP, "drift", plan=plan, outcomes=(ActionOutcome(action, "planned"),))


def test_text_is_one_block_per_app_with_whole_values_reason_resource_and_override() -> None:
    out = io.StringIO()
    other = AppRef("123456789012", "eu-west-1", "ledger-sink")
    results = [drifted_result(), ReconcileResult(other, "in_sync", plan=Plan(other, 2))]
    overrides = {APP: {"execution_role_trust": ("payments-team", "prod-strict")}}
    render_text(results, out, dry_run=True, overrides=overrides)
    text = out.getvalue()
    assert f"payments-enricher  {APP.arn}, version 7: drift" in text
    assert "execution_role_trust [enforce] would apply: UpdateAssumeRolePolicy" in text
    change = next(line for line in text.splitlines() if "~ AssumeRolePolicyDocument" in line)
    assert change.endswith("-> " + json.dumps(LONG, sort_keys=True, separators=(", ", ": ")))
    assert "x" * 200 in change  # no cut at 120 characters, no folding at 80 columns
    assert "      reason: no confused-deputy condition" in text
    assert f"      resource: {ROLE}" in text
    assert "      overrides: payments-team, prod-strict" in text
    assert "in sync: ledger-sink" in text
    assert text.rstrip().endswith("2 applications, 1 with drift, 1 field would change, 0 errors")


def held(result: ReconcileResult, outcome: Outcome, **change: Any) -> ReconcileResult:
    (first,) = result.outcomes
    action = replace(first.action, held=outcome, **change)
    return replace(result, outcomes=(ActionOutcome(action, outcome, action.reason),))


def test_the_summary_counts_every_change_and_says_one_application_in_the_singular() -> None:
    deferred = held(drifted_result(), "deferred", reason="deferred until Saturday")
    alerted = held(drifted_result(), "alerted", reason="not applied: restarts")
    other = replace(drifted_result(), app=AppRef("1", "r", "b"))
    assert summary_line([drifted_result()], True) == (
        "1 application, 1 with drift, 1 field would change, 0 errors"
    )
    assert summary_line([drifted_result(), deferred, alerted, other], True) == (
        "4 applications, 4 with drift, 2 fields would change, 1 deferred, 1 held, 0 errors"
    )
    pending = held(drifted_result(), "pending")
    assert summary_line([pending], False).endswith("0 fields changed, 1 applying, 0 errors")
    doc = json.loads(to_json([drifted_result(), deferred, alerted], True))
    assert doc["summary"]["changes_by_outcome"] == {"alerted": 1, "deferred": 1, "planned": 1}
    assert doc["plan_format_version"] == 2


def test_an_absent_value_reads_as_none() -> None:
    assert value_text(None) == "(none)"
    assert value_text([None, {}]) == "[null, {}]"


def test_a_deferral_is_audited_with_its_reason_not_as_an_error() -> None:
    action = held(drifted_result(), "deferred", reason="deferred until Saturday").outcomes[0].action
    failed = drifted_result().outcomes[0].action
    with capture_logs() as records:
        audit.record(action, "deferred", Cause("cli"), action.reason)
        audit.record(failed, "failed", Cause("cli"), "AccessDenied")
    deferral, failure = records
    assert deferral["reason"] == "deferred until Saturday" and "error" not in deferral
    assert failure["error"] == "AccessDenied" and "reason" not in failure


def test_json_carries_overrides_and_what_apply_needs_to_replay_the_calls() -> None:
    overrides = {APP: {"execution_role_trust": ("prod-strict",)}}
    doc = json.loads(to_json([drifted_result()], True, overrides, {"config_sha256": "abc"}))
    action = doc["applications"][0]["actions"][0]
    assert doc["config_sha256"] == "abc"
    assert action["changes"][0]["overrides"] == ["prod-strict"]
    assert action["calls"][0] == {
        "service": "iam",
        "operation": "UpdateAssumeRolePolicy",
        "params": {"RoleName": "r", "PolicyDocument": "{}"},
        "resource": ROLE,
        "versioned": False,
        "restarts_running_application": False,
    }


def test_saved_plan_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    overrides = {APP: {"execution_role_trust": ("prod-strict",)}}
    path.write_text(to_json([drifted_result()], True, overrides))
    saved = load_plan(str(path))
    assert saved.plans == (drifted_result().plan,)
    assert saved.overrides == overrides  # the apply's report names them as the plan did


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a JSON plan"),
        ('{"format_version": 9}', "not a format_version 1 plan document"),
        ('{"format_version": 1, "dry_run": false, "applications": []}', "report of an apply"),
        (
            '{"format_version": 1, "dry_run": true, "interrupted": true, "applications": []}',
            "interrupted",
        ),
        (
            '{"format_version": 1, "dry_run": true, "plan_format_version": 2, '
            '"applications": [{"actions": [1]}]}',
            "malformed",
        ),
    ],
)
def test_unusable_plan_files_are_refused_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(PlanFileError, match=message) as caught:
        load_plan(str(path))
    assert str(caught.value).startswith(str(path))


def test_app_selection_by_name_or_glob_reports_patterns_matching_nothing() -> None:
    apps = [AppRef("1", "r", n) for n in ("payments-enricher", "payments-ledger", "fraud-scorer")]
    chosen, unmatched = select(apps, ["payments-*", "fraud-scorer", "fraud-scrorer"])
    assert [a.name for a in chosen] == ["fraud-scorer", "payments-enricher", "payments-ledger"]
    assert unmatched == ["fraud-scrorer"]
    assert select(apps, [])[0] == sorted(apps)


def test_an_unmatched_app_pattern_names_the_closest_apps_or_lists_them() -> None:
    apps = [AppRef("1", "r", n) for n in ("payments-enricher", "payments-ledger", "fraud-scorer")]
    where = "the configured accounts and Regions"
    typo = unmatched_message(["fraud-scrorer"], apps, where)
    assert typo == "--app: no application matches 'fraud-scrorer' (did you mean fraud-scorer?)"
    nothing = unmatched_message(["nomatch*"], apps, where)
    assert nothing == (
        "--app: no application matches 'nomatch*'; the configured accounts and Regions hold 3 "
        "applications: fraud-scorer, payments-enricher, payments-ledger"
    )
    many = [AppRef("1", "r", f"app-{i:02}") for i in range(25)]
    assert unmatched_message(["zzz"], many, where).endswith("app-09 ...")
    assert unmatched_message(["x"], [], where).endswith("hold 0 applications")


def test_an_interrupted_pass_starts_nothing_new_and_reports_what_was_done() -> None:
    apps = [AppRef("1", "r", f"app-{i}") for i in range(5)]
    interrupted = threading.Event()

    def work(app: AppRef) -> ReconcileResult:
        if app.name == "app-1":
            interrupted.set()  # the signal arrives while app-1 is being reconciled
        return ReconcileResult(app, "in_sync")

    done = run_pass(work, apps, workers=1, interrupted=interrupted.is_set)
    assert [r.app.name for r in done.results] == ["app-0", "app-1"]
    assert [a.name for a in done.not_started] == ["app-2", "app-3", "app-4"]


def test_apply_exits_5_naming_what_is_still_being_applied(
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = drifted_result()
    assert first.plan is not None
    pending = (ActionOutcome(first.plan.actions[0], "pending", operation_id="op-1"),)
    applying = replace(first, outcomes=pending, retry_after_seconds=15.0)
    args = Namespace(out=None, output="text", dry_run=False, detailed_exitcode=False)
    done = PassResult((applying,), ())
    assert _report(done, args, Interrupts("forced"), None, {}) == exits.PENDING
    captured = capsys.readouterr()
    assert "applying (following the change)" in captured.out
    assert "still being applied after --wait-seconds: payments-enricher" in captured.err
    settled = PassResult((replace(applying, retry_after_seconds=0.0),), ())
    assert _report(settled, args, Interrupts("forced"), None, {}) == exits.OK
