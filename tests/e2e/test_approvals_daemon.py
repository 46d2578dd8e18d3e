"""Approved restarting fixes end to end (issue 31): with `disruption.running: approved` the
daemon never makes an unapproved restarting fix; an approval of a saved plan (`approve`, kept in
the DynamoDB state table) is used once, inside the window, for exactly the approved call; an
approval made stale by a change to the application is refused, and `plan` says why.

The daemon runs in-process, keeps its state in the sandbox's DynamoDB table and reads its wall
clock from the sandbox, so the test moves the clock into the window: no real waiting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.cli import main
from daemon.reconcile.safeguards import Approval, Safeguards
from daemon.runtime import Daemon, state_store
from daemon.state import AppRef
from sandbox.server import Sandbox
from sandbox.state_table import STATE_TABLE, create_state_table
from sandbox.testing import advance_clock, client
from tests.e2e.configs import write_config
from tests.e2e.test_waivers_daemon import daemon_calls, on_sandbox_clock, sandbox_now
from tests.harness import wait_until

pytestmark = pytest.mark.e2e
APP = "clickstream-sessionizer"  # RUNNING, snapshots disabled in the demo account
UPDATE = "UpdateApplication"
SNAPSHOTS_ON = {"ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True}}
SNAPSHOTS_OFF = {"SnapshotsEnabledUpdate": False}


def window_from(now: datetime) -> tuple[str, datetime]:
    """A 3-hour weekly window opening about two hours after `now` (UTC), and that opening."""
    opening = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    end = opening + timedelta(hours=3)
    text = f"{opening:%a} {opening:%H:%M}-{end:%H:%M} UTC"
    return text, opening


@pytest.fixture
def setup(
    fresh_sandbox: Sandbox, demo: dict[str, Any], tmp_path: Path
) -> Iterator[tuple[Daemon, Path, datetime]]:
    create_state_table(client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "dynamodb"))
    window, opening = window_from(sandbox_now(fresh_sandbox.endpoint_url))
    config = write_config(
        tmp_path / "desired.yaml",
        ("snapshots",),
        regions=(fresh_sandbox.region,),
        account=fresh_sandbox.account_id,
    )
    doc = yaml.safe_load(config.read_text())
    doc["defaults"]["disruption"] = {
        "running": "approved",
        "windows": [window],
        "require_system_rollback": False,
    }
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    daemon = on_sandbox_clock(fresh_sandbox, config, state_table=STATE_TABLE)
    daemon.start()
    app = AppRef(fresh_sandbox.account_id, fresh_sandbox.region, APP)
    try:
        wait_until(lambda: daemon.safeguards.next_opening(app) == opening, 60, "deferred")
        yield daemon, config, opening
    finally:
        daemon.stop()


def updates(sandbox: Sandbox, demo: dict[str, Any]) -> list[dict[str, Any]]:
    daemon_arn = demo["principals"]["daemon"]["arn"]
    calls = daemon_calls(sandbox, daemon_arn, UPDATE)
    return [c for c in calls if c.get("application") == APP and not c.get("error_code")]


def saved_plan(config: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """`plan --out` of APP: its one action (asserting it awaits approval)."""
    assert main(["plan", "--config", str(config), "--app", APP, "--out", str(path)]) == 0
    capsys.readouterr()
    (app,) = json.loads(path.read_text())["applications"]
    (action,) = app["actions"]
    assert action["outcome"] == "deferred" and action["restarts"]
    assert action["disruption"]["decision"] == "approval"
    return dict(action)


def approved_plan(config: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """`plan --out` then `approve` (by jane.doe, CHG-4711): the plan's action."""
    action = saved_plan(config, path, capsys)
    argv = ["approve", str(path), "--by", "jane.doe", "--ticket", "CHG-4711"]
    assert main([*argv, "--state-table", STATE_TABLE]) == 0
    assert f"approved {APP} (snapshots: UpdateApplication)" in capsys.readouterr().out
    return action


def approval_in_store(sandbox: Sandbox) -> Approval | None:
    guards = Safeguards(store=state_store(STATE_TABLE, sandbox.region))
    return guards.approval_for(AppRef(sandbox.account_id, sandbox.region, APP))


def report_approval(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The approval column of APP's snapshots row in `report --state-table` (JSON)."""
    argv = ["report", "--config", str(config), "--format", "json"]
    capsys.readouterr()
    assert main([*argv, "--state-table", STATE_TABLE]) == 0
    apps = {a["name"]: a for a in json.loads(capsys.readouterr().out)["applications"]}
    (row,) = [c for c in apps[APP]["controls"] if c["control"] == "snapshots"]
    others = [c["approval"] for a in apps.values() if a["name"] != APP for c in a["controls"]]
    assert others and not any(others)
    return str(row["approval"])


def detail_of(flink: Any) -> dict[str, Any]:
    return dict(flink.describe_application(ApplicationName=APP)["ApplicationDetail"])


def someone_changes(flink: Any, update: dict[str, Any]) -> None:
    """An UpdateApplication of APP by someone else (the test's own keys)."""
    version = detail_of(flink)["ApplicationVersionId"]
    flink.update_application(
        ApplicationName=APP,
        CurrentApplicationVersionId=version,
        ApplicationConfigurationUpdate=update,
    )


def snapshots_enabled(flink: Any) -> bool:
    config = detail_of(flink)["ApplicationConfigurationDescription"]
    return bool(config["ApplicationSnapshotConfigurationDescription"]["SnapshotsEnabled"])


def in_window(sandbox: Sandbox, daemon: Daemon, opening: datetime) -> None:
    """Move the clock into the window and wait for the daemon's reconcile at the opening (it
    defers the fix again, to next week's opening, or makes it)."""
    advance_clock(
        sandbox.endpoint_url, (opening - sandbox_now(sandbox.endpoint_url)).total_seconds() + 1800
    )
    app = AppRef(sandbox.account_id, sandbox.region, APP)
    later = opening + timedelta(days=7)
    wait_until(lambda: daemon.safeguards.next_opening(app) in (later, None), 60, "reconciled")


def test_an_unapproved_restarting_fix_is_never_made(
    setup: tuple[Daemon, Path, datetime],
    fresh_sandbox: Sandbox,
    demo: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    daemon, config, opening = setup
    action = saved_plan(config, tmp_path / "plan.json", capsys)
    assert action["reason"] == "deferred (awaiting approval) (restarts the running application)"
    (call,) = action["calls"]
    assert call["operation"] == UPDATE
    assert call["params"]["ApplicationConfigurationUpdate"] == SNAPSHOTS_ON
    in_window(fresh_sandbox, daemon, opening)
    time.sleep(1)
    assert updates(fresh_sandbox, demo) == []
    flink = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "kinesisanalyticsv2")
    assert not snapshots_enabled(flink)


def test_an_approved_fix_is_made_once_in_the_window_with_exactly_the_approved_call(
    setup: tuple[Daemon, Path, datetime],
    fresh_sandbox: Sandbox,
    demo: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    daemon, config, opening = setup
    flink = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "kinesisanalyticsv2")
    before = detail_of(flink)
    action = approved_plan(config, tmp_path / "plan.json", capsys)
    approval = approval_in_store(fresh_sandbox)
    assert approval is not None and approval.state == "approved"
    assert [dict(c) for c in approval.calls] == [
        {k: v for k, v in call.items() if k != "restarts_running_application"}
        for call in action["calls"]
    ]
    time.sleep(1)
    assert updates(fresh_sandbox, demo) == []  # approved, but the window is not open yet
    in_window(fresh_sandbox, daemon, opening)
    wait_until(lambda: updates(fresh_sandbox, demo), 30, "the approved fix")
    wait_until(lambda: snapshots_enabled(flink), 30, "snapshots on")
    used = approval_in_store(fresh_sandbox)
    assert used is not None and used.state == "used"
    # Exactly the approved call: one UpdateApplication, and the app's configuration differs from
    # before only in what it approved.
    after = flink.describe_application(ApplicationName=APP)["ApplicationDetail"]
    was, now = (
        before["ApplicationConfigurationDescription"],
        after["ApplicationConfigurationDescription"],
    )
    was.pop("ApplicationSnapshotConfigurationDescription")
    now.pop("ApplicationSnapshotConfigurationDescription")
    assert was == now and after["ApplicationVersionId"] == before["ApplicationVersionId"] + 1
    # Once: the drift made again (by someone else) is not fixed under the used approval.
    wait_until(lambda: detail_of(flink)["ApplicationStatus"] == "RUNNING", 30, "running")
    someone_changes(flink, {"ApplicationSnapshotConfigurationUpdate": SNAPSHOTS_OFF})
    advance_clock(fresh_sandbox.endpoint_url, 600)  # still inside the window
    time.sleep(3)
    assert len(updates(fresh_sandbox, demo)) == 1
    assert report_approval(config, capsys).startswith("used (CHG-4711, jane.doe, sha256:")


def test_an_approval_made_stale_by_a_change_is_refused_and_reported(
    setup: tuple[Daemon, Path, datetime],
    fresh_sandbox: Sandbox,
    demo: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    daemon, config, opening = setup
    approved_plan(config, tmp_path / "plan.json", capsys)
    # Someone changes the application after the review: its version moves.
    flink = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "kinesisanalyticsv2")
    version = int(detail_of(flink)["ApplicationVersionId"])
    parallelism = {"ConfigurationTypeUpdate": "CUSTOM", "ParallelismUpdate": 2}
    someone_changes(
        flink,
        {"FlinkApplicationConfigurationUpdate": {"ParallelismConfigurationUpdate": parallelism}},
    )

    def refused() -> Approval | None:
        found = approval_in_store(fresh_sandbox)
        return found if found is not None and found.state == "refused" else None

    stale = wait_until(refused, 60, "the approval refused")
    assert stale.reason == f"version changed (approved at {version}, now {version + 1})"
    in_window(fresh_sandbox, daemon, opening)
    time.sleep(1)
    assert updates(fresh_sandbox, demo) == []
    assert report_approval(config, capsys).endswith(
        f"{stale.id} at {stale.settled_at:%Y-%m-%dT%H:%M:%SZ}: {stale.reason}"
    )
