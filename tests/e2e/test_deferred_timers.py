"""Timers that fire once across replicas (issue 26): a restarting fix deferred to a maintenance
window is made once at the window's opening by two daemons sharing the sandbox's DynamoDB
table, and by a daemon restarted before the window without any sweep (it reads the deferral
from the table). Judged from the sandbox's call record.

The daemons run in-process with their wall clock read from the sandbox over HTTP, so the
window opens when the test moves the sandbox clock: no real waiting."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.runtime import Daemon
from daemon.state import AppRef
from daemon.telemetry.metrics import REGISTRY
from sandbox.faults.rules import FaultRule
from sandbox.server import Sandbox
from sandbox.state_table import STATE_TABLE, create_state_table
from sandbox.testing import Credentials, advance_clock, client
from tests.e2e.configs import write_config
from tests.e2e.test_waivers_daemon import daemon_calls, on_sandbox_clock, sandbox_now
from tests.harness import wait_until

pytestmark = pytest.mark.e2e
APP = "clickstream-sessionizer"  # the demo's RUNNING application, snapshots off
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def windowed_config(path: Path, sandbox: Sandbox) -> tuple[Path, float]:
    """Snapshots enforced on running apps only in a one-hour window that opens two days from
    the sandbox's now (whole minutes): the config and the seconds until the opening."""
    now = sandbox_now(sandbox.endpoint_url)
    opening = (now + timedelta(days=2)).replace(second=0, microsecond=0)
    end = opening + timedelta(hours=1)
    window = f"{DAYS[opening.weekday()]} {opening:%H:%M}-{end:%H:%M} UTC"
    write_config(
        path, enabled=("snapshots",), regions=(sandbox.region,), account=sandbox.account_id
    )
    doc = yaml.safe_load(path.read_text())
    doc["defaults"]["disruption"] = {
        "running": "window",
        "windows": [window],
        "require_system_rollback": False,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path, (opening - now).total_seconds()


@pytest.fixture
def start(
    fresh_sandbox: Sandbox, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Daemon]]:
    monkeypatch.setattr("daemon.runtime.DEFERRED_CHECK_SECONDS", 1.0)  # the clock jumps
    admin = Credentials("sandbox-admin", "sandbox")  # the sandbox's bootstrap keys
    create_state_table(client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "dynamodb", admin))
    started: list[Daemon] = []

    def run(config: Path, sweep_source: str = "internal") -> Daemon:
        daemon = on_sandbox_clock(
            fresh_sandbox, config, sweep_source=sweep_source, state_table=STATE_TABLE
        )
        daemon.start()
        started.append(daemon)
        return daemon

    yield run
    for daemon in started:
        if not daemon.stopping.is_set():
            daemon.stop()


def snapshot_fixes(sandbox: Sandbox, demo: dict[str, Any]) -> list[dict[str, Any]]:
    """Every UpdateApplication the daemons sent to the app (accepted or refused)."""
    arn = demo["principals"]["daemon"]["arn"]
    calls = daemon_calls(sandbox, arn, "UpdateApplication")
    return [c for c in calls if c.get("application") == APP]


def claims(outcome: str) -> float:
    """The deferred-fix claims both in-process daemons made (one metrics registry)."""
    labels = {"timer": "deferred_fix", "outcome": outcome}
    return REGISTRY.get_sample_value("flink_remediator_timer_claims_total", labels) or 0.0


def deferred_by(daemon: Daemon, app: AppRef) -> None:
    wait_until(lambda: daemon.safeguards.next_opening(app), 90, "the snapshots fix deferred")


def test_two_replicas_make_a_deferred_fix_once_at_the_opening(
    fresh_sandbox: Sandbox, demo: dict[str, Any], start: Callable[..., Daemon], tmp_path: Path
) -> None:
    config, until_opening = windowed_config(tmp_path / "desired.yaml", fresh_sandbox)
    app = AppRef(fresh_sandbox.account_id, fresh_sandbox.region, APP)
    first, second = start(config), start(config)
    deferred_by(first, app)
    deferred_by(second, app)  # each swept and deferred it (no write: the window is shut)
    assert snapshot_fixes(fresh_sandbox, demo) == []
    won, lost = claims("won"), claims("lost")
    # The fix takes 3 s to reach the service: the deferral is still recorded meanwhile, so
    # the other replica's checks (every second) find it due and try to claim the opening.
    slow = FaultRule("hang", operations=("UpdateApplication",), count=1, seconds=3)
    fresh_sandbox.faults.install([slow])

    advance_clock(fresh_sandbox.endpoint_url, until_opening + 30)
    wait_until(lambda: snapshot_fixes(fresh_sandbox, demo), 60, "the fix at the opening")
    time.sleep(3)  # three more checks by each replica: neither fires it again
    (fix,) = snapshot_fixes(fresh_sandbox, demo)
    assert fix["error_code"] is None
    assert claims("won") - won == 1
    assert claims("lost") > lost  # the other replica found it due and left it alone


def test_a_daemon_restarted_before_the_window_makes_the_fix_without_a_sweep(
    fresh_sandbox: Sandbox, demo: dict[str, Any], start: Callable[..., Daemon], tmp_path: Path
) -> None:
    config, until_opening = windowed_config(tmp_path / "desired.yaml", fresh_sandbox)
    app = AppRef(fresh_sandbox.account_id, fresh_sandbox.region, APP)
    first = start(config)
    deferred_by(first, app)
    first.stop()
    # Queue sweeps and no schedule in the sandbox: this daemon never sweeps, never reads the app.
    restarted = start(config, sweep_source="queue")
    advance_clock(fresh_sandbox.endpoint_url, until_opening + 30)
    wait_until(lambda: snapshot_fixes(fresh_sandbox, demo), 60, "the fix at the opening")
    (fix,) = snapshot_fixes(fresh_sandbox, demo)
    assert fix["error_code"] is None
    cleared = lambda: restarted.safeguards.next_opening(app) is None  # noqa: E731
    wait_until(cleared, 30, "the deferral cleared after the fix")
