"""Waivers end to end (issue 31): a waived drift shows `waived (ticket, approver, expires)` in
`plan`, the daemon never fixes it, and moving the sandbox clock past the expiry makes the daemon
fix it by itself, with no sweep (its only sweep runs at start; the interval is 600 s).

The daemon runs in-process with its wall clock read from the sandbox over HTTP
(POST /_sandbox/clock {"advance": 0} answers the sandbox's now), so the clock the test moves is
the one its waivers expire on: no real waiting.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.cli import main
from daemon.desired.loader import load_config
from daemon.runtime import Daemon
from daemon.settings import RunSettings
from sandbox.server import Sandbox
from sandbox.testing import advance_clock, client, control
from tests.e2e.configs import waiver_entry, write_config
from tests.harness import delete_logging, free_port, has_logging, wait_until

pytestmark = pytest.mark.e2e
APP = "payments-enricher"  # compliant for cloudwatch_logging in the demo account
ADD = "AddApplicationCloudWatchLoggingOption"


def sandbox_now(endpoint_url: str) -> datetime:
    """The sandbox's clock, read over HTTP (advancing it by nothing)."""
    now = control(endpoint_url, "/_sandbox/clock", advance=0)["now"]
    return datetime.fromtimestamp(float(now), UTC)


def on_sandbox_clock(sandbox: Sandbox, config: Path, **settings: Any) -> Daemon:
    """An in-process daemon (not started) on `sandbox` whose wall clock is the sandbox's; a
    short poll and debounce, one sweep at start (the interval is 600 s); `settings` override."""
    run = RunSettings(
        config=str(config),
        queue_url=sandbox.queue_url,
        region=sandbox.region,
        metrics_host="127.0.0.1",
        metrics_port=free_port(),
        poll_wait_seconds=1,
        debounce_seconds=0.5,
        sweep_interval_seconds=600,
        sweep_jitter_seconds=0,
        **settings,
    )
    return Daemon(run, load_config(config), clock=lambda: sandbox_now(sandbox.endpoint_url))


def daemon_calls(sandbox: Sandbox, daemon_arn: str, operation: str) -> list[dict[str, Any]]:
    url = f"{sandbox.endpoint_url}/_sandbox/calls?operation={operation}&caller_arn={daemon_arn}"
    with urllib.request.urlopen(url, timeout=10) as response:
        found: list[dict[str, Any]] = json.load(response)["calls"]
    return found


def daemon_writes(sandbox: Sandbox, daemon_arn: str) -> list[dict[str, Any]]:
    return [c for c in daemon_calls(sandbox, daemon_arn, ADD) if c.get("application") == APP]


def waived_config(path: Path, sandbox: Sandbox, expires: datetime) -> Path:
    write_config(path, regions=(sandbox.region,), account=sandbox.account_id)
    doc = yaml.safe_load(path.read_text())
    when = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    doc["waivers"] = [waiver_entry(APP, "cloudwatch_logging", when)]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def running(
    fresh_sandbox: Sandbox, demo: dict[str, Any], tmp_path: Path
) -> Iterator[tuple[Daemon, Path, datetime]]:
    flink = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "kinesisanalyticsv2")
    delete_logging(flink, APP)  # the drift the waiver allows
    expires = sandbox_now(fresh_sandbox.endpoint_url) + timedelta(days=2)
    config = waived_config(tmp_path / "desired.yaml", fresh_sandbox, expires)
    daemon = on_sandbox_clock(fresh_sandbox, config)
    daemon.start()
    try:
        yield daemon, config, expires
    finally:
        daemon.stop()


def test_plan_and_report_show_the_waiver(
    fresh_sandbox: Sandbox,
    demo: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    flink = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "kinesisanalyticsv2")
    delete_logging(flink, APP)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    config = waived_config(tmp_path / "desired.yaml", fresh_sandbox, expires)
    when = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert main(["plan", "--config", str(config), "--app", APP]) == 0
    text = capsys.readouterr().out
    assert f"cloudwatch_logging [enforce] waived (CHG-4711, jane.doe, {when}): none" in text
    assert main(["plan", "--config", str(config), "--app", APP, "--output", "json"]) == 0
    (action,) = json.loads(capsys.readouterr().out)["applications"][0]["actions"]
    assert action["outcome"] == "waived" and action["calls"] == []
    assert action["waiver"] == {
        "id": "WVR-7",
        "ticket": "CHG-4711",
        "approved_by": "jane.doe",
        "expires": when,
    }
    assert main(["report", "--config", str(config), "--format", "json"]) == 0
    apps = {a["name"]: a for a in json.loads(capsys.readouterr().out)["applications"]}
    (row,) = [c for c in apps[APP]["controls"] if c["control"] == "cloudwatch_logging"]
    assert row["status"] == "violation"  # not compliant: an approved, dated exception
    assert row["waiver"] == f"waived (CHG-4711, jane.doe, {when}): WVR-7"
    others = [c["waiver"] for a in apps.values() if a["name"] != APP for c in a["controls"]]
    assert others and not any(others)


def test_the_daemon_never_fixes_a_waived_drift_and_fixes_it_at_the_expiry(
    running: tuple[Daemon, Path, datetime], fresh_sandbox: Sandbox, demo: dict[str, Any]
) -> None:
    daemon, _, expires = running
    daemon_arn = demo["principals"]["daemon"]["arn"]
    flink = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "kinesisanalyticsv2")
    wait_until(lambda: any(a.name == APP for a in daemon.waivers.waived()), 60, "APP waived")
    time.sleep(2)  # the start sweep's and the deletion event's reconciles have all run
    assert daemon_writes(fresh_sandbox, daemon_arn) == []
    assert not has_logging(flink, APP)
    # One day on: still waived, still not fixed.
    advance_clock(fresh_sandbox.endpoint_url, 86400)
    time.sleep(6)  # longer than the expiry check's period
    assert daemon_writes(fresh_sandbox, daemon_arn) == []
    # Past the expiry: the daemon reconciles the app by itself (its sweep is 600 s away).
    listings = len(daemon_calls(fresh_sandbox, daemon_arn, "ListApplications"))
    advance_clock(fresh_sandbox.endpoint_url, 86400 + 60)
    assert sandbox_now(fresh_sandbox.endpoint_url) > expires
    wait_until(lambda: daemon_writes(fresh_sandbox, daemon_arn), 30, "the fix after the expiry")
    wait_until(lambda: has_logging(flink, APP), 30, "logging restored")
    assert not daemon.waivers.waived()
    # No sweep listed the applications meanwhile: the expiry's own reconcile made the fix.
    assert len(daemon_calls(fresh_sandbox, daemon_arn, "ListApplications")) == listings
