"""`apply --plan-file` does exactly what the saved plan said, outcome by outcome (issue 23).

The demo's `clickstream-sessionizer` is RUNNING with snapshots off and no system rollback: two
restarting fixes. The CLI runs in-process with injected clocks: the wall clock that disruption
windows are judged by, and the follow's waits, which move the sandbox's clock as well (a
ten-minute update takes no real time). Judged by the sandbox's own record of calls.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import build_parser
from daemon.commands import exits
from daemon.commands.follow import Clocks
from daemon.commands.plan_apply import run_plan_or_apply
from daemon.reconcile.reconciler import EnabledRules, Reconciler
from daemon.reconcile.report import to_json
from daemon.reconcile.safeguards import Safeguards
from daemon.sessions import AwsByAccount
from daemon.state import AppRef, Cause
from remediations.snapshots import Settings as SnapshotSettings
from remediations.snapshots import Snapshots
from sandbox.server import Sandbox
from sandbox.testing import advance_clock, next_update
from tests.clock import FakeClock
from tests.e2e.configs import write_config
from tests.e2e.test_plan_apply import actor_client
from tests.e2e.test_safe_remediation import FRIDAY_NOON, SATURDAY_0230

pytestmark = pytest.mark.e2e

RUNNING_APP = "clickstream-sessionizer"
READY_APP = "fraud-scorer"  # READY: its fixes restart nothing and are applied
# The demo's RUNNING app has no system rollback: these tests are about windows and alerts, not
# about require_system_rollback (tests/e2e/test_stopped_by_fix.py is).
UNPROTECTED = {"require_system_rollback": False}
WINDOW = {"running": "window", "windows": ["Sat 02:00-05:00 Europe/London"], **UNPROTECTED}
ALERT = {"running": "alert", **UNPROTECTED}
ALLOW = {"running": "allow", **UNPROTECTED}


class Waits:
    """The follow's sleep: moves the injected monotonic clock and the sandbox's together."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox, self.clock = sandbox, FakeClock(1000.0)

    def __call__(self, seconds: float) -> None:
        self.clock.now += seconds
        advance_clock(self.sandbox.endpoint_url, seconds)


def clocks(sandbox: Sandbox, wall: datetime) -> Clocks:
    waits = Waits(sandbox)
    return Clocks(monotonic=waits.clock, sleep=waits, wall=lambda: wall)


def config(tmp_path: Path, snapshots: dict[str, Any], rollback: dict[str, Any] | None) -> str:
    """Snapshots (and, given its disruption settings, system rollback) enabled."""
    path = tmp_path / "c.yaml"
    fix_snapshots: dict[str, object] = {"disruption": snapshots}
    if rollback is None:
        return str(write_config(path, ("snapshots",), snapshots=fix_snapshots))
    enabled = ("snapshots", "system_rollback")
    rollback_fix: dict[str, object] = {"disruption": rollback}
    return str(write_config(path, enabled, snapshots=fix_snapshots, system_rollback=rollback_fix))


def cli(
    capsys: pytest.CaptureFixture[str], clock: Clocks, *argv: str
) -> tuple[int, dict[str, Any], str]:
    """Exit code, the JSON report and stderr of one `plan`/`apply` run."""
    capsys.readouterr()
    code = run_plan_or_apply(build_parser().parse_args([*argv, "--output", "json"]), clock)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def make_plan(
    capsys: pytest.CaptureFixture[str], clock: Clocks, conf: str, out: Path, *apps: str
) -> dict[str, Any]:
    selected = [arg for app in apps for arg in ("--app", app)]
    code, doc, err = cli(capsys, clock, "plan", "--config", conf, "--out", str(out), *selected)
    assert code == 0, err
    return doc


def app_doc(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in doc["applications"] if a["name"] == name)


def outcomes(doc: dict[str, Any], name: str) -> dict[str, str]:
    return {"+".join(x["rules"]): x["outcome"] for x in app_doc(doc, name)["actions"]}


def writes_to(sandbox: Sandbox, name: str) -> list[str]:
    return [c.operation for c in sandbox.calls() if c.mutating and c.application == name]


def test_an_alerted_and_a_deferred_restarting_fix_are_not_applied_from_the_plan(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    conf, plan = config(tmp_path, WINDOW, ALERT), tmp_path / "plan.json"
    friday = clocks(fresh_sandbox, FRIDAY_NOON)
    doc = make_plan(capsys, friday, conf, plan, RUNNING_APP, READY_APP)
    assert outcomes(doc, RUNNING_APP) == {"snapshots": "deferred", "system_rollback": "alerted"}
    deferred = next(x for x in app_doc(doc, RUNNING_APP)["actions"] if x["outcome"] == "deferred")
    assert deferred["deferred_until"] == "2026-12-05T02:00:00+00:00"
    assert deferred["disruption"] == {"decision": "deferred", "rules": {"snapshots": WINDOW}}
    assert outcomes(doc, READY_APP) == {"system_rollback": "planned"}
    later = clocks(fresh_sandbox, FRIDAY_NOON + timedelta(hours=1))  # the window is still shut

    code, saved, _ = cli(capsys, later, "apply", "--plan-file", str(plan))

    assert code == exits.OK
    assert writes_to(fresh_sandbox, RUNNING_APP) == []
    assert writes_to(fresh_sandbox, READY_APP) == ["UpdateApplication"]
    # The report is the one `apply --config` gives, at the same time, for the running app.
    code_config, direct, _ = cli(capsys, later, "apply", "--config", conf, "--app", RUNNING_APP)
    assert code_config == code
    assert app_doc(saved, RUNNING_APP) == app_doc(direct, RUNNING_APP)
    assert writes_to(fresh_sandbox, RUNNING_APP) == []
    capsys.readouterr()
    argv = ["apply", "--plan-file", str(plan), "--app", RUNNING_APP]
    assert run_plan_or_apply(build_parser().parse_args(argv), later) == exits.OK
    text = capsys.readouterr().out
    assert "snapshots [enforce] deferred until 2026-12-05T02:00:00+00:00" in text
    assert "system_rollback [enforce] not applied: restarts the running application" in text
    assert text.rstrip().endswith(
        "1 application, 1 with drift, 0 fields changed, 1 deferred, 1 held, 0 errors"
    )
    assert writes_to(fresh_sandbox, RUNNING_APP) == []


@pytest.mark.parametrize(
    ("planned_at", "applied_at", "said", "now"),
    [
        # made outside the window: its opening does not approve the deferred fix
        (
            FRIDAY_NOON,
            SATURDAY_0230,
            "deferred until 2026-12-05T02:00:00+00:00",
            "to be made at once",
        ),
        # made inside the window: not made after it closed
        (
            SATURDAY_0230,
            SATURDAY_0230 + timedelta(hours=4),
            "to be made at once",
            "deferred until 2026-12-12T02:00:00+00:00",
        ),
    ],
)
def test_a_plan_whose_window_decision_changed_is_refused_as_stale(
    demo: dict[str, Any],
    fresh_sandbox: Sandbox,
    tmp_path: Path,
    capsys: Any,
    planned_at: datetime,
    applied_at: datetime,
    said: str,
    now: str,
) -> None:
    plan = tmp_path / "plan.json"
    make_plan(capsys, clocks(fresh_sandbox, planned_at), config(tmp_path, WINDOW, None), plan)

    code, _, err = cli(capsys, clocks(fresh_sandbox, applied_at), "apply", "--plan-file", str(plan))

    assert code == exits.STALE_PLAN
    assert err.strip() == (
        f"error: {plan} is stale, nothing applied: {RUNNING_APP}: snapshots: the plan said "
        f"{said}, now {now}; run plan again"
    )
    assert [c for c in fresh_sandbox.calls() if c.mutating] == []


def follow_run(
    fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any, outcome: str, wait: float
) -> tuple[int, dict[str, Any], str]:
    """Plan the running app's snapshots fix (restarts allowed), make its update take ten
    minutes and end in `outcome`, and apply the plan with --wait-seconds `wait`."""
    plan = tmp_path / "plan.json"
    friday = clocks(fresh_sandbox, FRIDAY_NOON)
    make_plan(capsys, friday, config(tmp_path, ALLOW, None), plan, RUNNING_APP)
    next_update(fresh_sandbox.endpoint_url, RUNNING_APP, outcome, 600)
    argv = ("apply", "--plan-file", str(plan), "--wait-seconds", str(wait))
    result = cli(capsys, friday, *argv)
    assert writes_to(fresh_sandbox, RUNNING_APP) == ["UpdateApplication"]  # followed, not resent
    return result


@pytest.mark.parametrize(
    ("update", "wait", "code", "result", "outcome"),
    [
        ("succeed", 1800, exits.OK, "fixed", "applied"),  # ten minutes, followed to its end
        # The app has no system rollback: the failed update leaves it READY (stopped), as AWS
        # documents; followed to that end like apply --config (test_apply_follows.py).
        ("rollback", 1800, exits.ERROR, "error", "stopped"),
        ("succeed", 120, exits.PENDING, "drift", "pending"),  # still running when the wait ends
    ],
)
def test_a_restarting_fix_from_the_plan_is_followed_as_apply_config_follows_it(
    demo: dict[str, Any],
    fresh_sandbox: Sandbox,
    tmp_path: Path,
    capsys: Any,
    update: str,
    wait: float,
    code: int,
    result: str,
    outcome: str,
) -> None:
    exit_code, doc, err = follow_run(fresh_sandbox, tmp_path, capsys, update, wait)
    assert exit_code == code
    assert app_doc(doc, RUNNING_APP)["result"] == result
    assert outcomes(doc, RUNNING_APP) == {"snapshots": outcome}
    still = f"error: still being applied after --wait-seconds: {RUNNING_APP}"
    assert (still in err) == (code == exits.PENDING)


def test_a_fix_the_plan_held_for_a_backoff_is_not_applied(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    # A plan made by a reconciler whose last snapshots fix on the app did not hold (`plan`
    # itself starts with no backoffs; the daemon's reconciler has them).
    app = AppRef(fresh_sandbox.account_id, fresh_sandbox.region, RUNNING_APP)
    aws = AwsByAccount()
    detail = aws(app).call("kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name)
    settings = SnapshotSettings.model_validate({"disruption": ALLOW})
    safeguards = Safeguards()
    version = int(detail["ApplicationDetail"]["ApplicationVersionId"])
    safeguards.record_failed(app, "snapshots", version=version, settings=settings.model_dump_json())
    rules: EnabledRules = [(Snapshots(), settings, "enforce")]
    result = Reconciler(
        aws, lambda _app, _tags: rules, dry_run=True, safeguards=safeguards
    ).reconcile(app, Cause("cli"))
    plan = tmp_path / "plan.json"
    plan.write_text(to_json([result], dry_run=True))
    assert outcomes(json.loads(plan.read_text()), RUNNING_APP) == {"snapshots": "skipped"}

    friday = clocks(fresh_sandbox, FRIDAY_NOON)
    code, doc, _ = cli(capsys, friday, "apply", "--plan-file", str(plan))

    assert code == exits.OK
    (action,) = app_doc(doc, RUNNING_APP)["actions"]
    assert action["outcome"] == "skipped" and action["reason"].startswith("backing off for 60 min")
    assert writes_to(fresh_sandbox, RUNNING_APP) == []


def test_a_plan_of_another_format_version_is_refused(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    plan = tmp_path / "plan.json"
    make_plan(capsys, clocks(fresh_sandbox, FRIDAY_NOON), config(tmp_path, ALLOW, None), plan)
    doc = json.loads(plan.read_text())
    for version, made in ((None, "an older"), (1, "an older"), (3, "a newer")):
        doc["plan_format_version"] = version
        plan.write_text(json.dumps(doc))
        friday = clocks(fresh_sandbox, FRIDAY_NOON)
        code, _, err = cli(capsys, friday, "apply", "--plan-file", str(plan))
        assert code == exits.ERROR
        assert err.strip() == (
            f"error: {plan}: plan_format_version {version} was written by "
            f"{made} flink-remediator; this one applies plan_format_version 2 only: run plan again"
        )
    assert [c for c in fresh_sandbox.calls() if c.mutating] == []


def test_a_fix_that_would_now_restart_the_application_is_refused_as_stale(
    demo: dict[str, Any], fresh_sandbox: Sandbox, tmp_path: Path, capsys: Any
) -> None:
    plan, friday = tmp_path / "plan.json", clocks(fresh_sandbox, FRIDAY_NOON)
    make_plan(capsys, friday, config(tmp_path, ALLOW, ALERT), plan, READY_APP)
    # Planned while READY (no restart); someone starts the job before the apply.
    flink = actor_client(demo, fresh_sandbox, "kinesisanalyticsv2")
    flink.start_application(ApplicationName=READY_APP)
    advance_clock(fresh_sandbox.endpoint_url, 60)

    code, _, err = cli(capsys, friday, "apply", "--plan-file", str(plan))

    assert code == exits.STALE_PLAN
    assert f"{READY_APP}: system_rollback would now restart the application (RUNNING)" in err
    assert writes_to(fresh_sandbox, READY_APP) == ["StartApplication"]
