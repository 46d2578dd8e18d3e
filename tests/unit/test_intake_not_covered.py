"""Events for a Region or an account the config does not cover cause nothing: the daemon says so
once per Region or account, with what to change, and counts every one (issue 23: a demo whose
sandbox ran in another Region reconciled nothing and said nothing)."""

from __future__ import annotations

import json

from structlog.testing import capture_logs

from daemon.desired.loader import parse_config
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.identity import OwnIdentity
from daemon.ingest.intake import Ignored, Intake
from daemon.telemetry import metrics
from tests.factories import update_event

OWN, STRANGER = "123456789012", "444444444444"
CONFIG = f"version: 1\naccounts: ['{OWN}']\nregions: [us-east-1, eu-west-1]\n"


def event_in(region: str, event_id: str, account: str = OWN) -> str:
    envelope = json.loads(update_event(account, f"arn:aws:iam::{account}:user/alice", event_id))
    envelope["region"] = envelope["detail"]["awsRegion"] = region
    return json.dumps(envelope)


def ignored_count(reason: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "flink_remediator_events_ignored_total", {"reason": reason}
    )
    return value or 0.0


def intake() -> Intake:
    config = parse_config(CONFIG)
    own = OwnIdentity.from_caller_identity(f"arn:aws:iam::{OWN}:user/daemon")
    return Intake(own, EventIdCache(), lambda: config)


def test_an_uncovered_region_is_warned_about_once_with_the_fix_and_counted_each_time() -> None:
    front, before = intake(), ignored_count("region_not_configured")
    with capture_logs() as logs:
        for n in range(3):
            dropped = front.accept(event_in("ap-southeast-2", f"e-{n}"))
            assert isinstance(dropped, Ignored) and dropped.reason == "region_not_configured"
        front.accept(event_in("sa-east-1", "e-other"))
        front.accept(event_in("eu-west-1", "e-covered"))
    warnings = [entry for entry in logs if entry["event"] == "events_not_covered"]
    assert [w["scope"] for w in warnings] == ["region 'ap-southeast-2'", "region 'sa-east-1'"]
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["covered"] == ["us-east-1", "eu-west-1"]
    assert "`regions:`" in warnings[0]["fix"]
    assert ignored_count("region_not_configured") - before == 4


def test_an_uncovered_account_is_warned_about_once() -> None:
    front = intake()
    with capture_logs() as logs:
        front.accept(event_in("us-east-1", "a-1", STRANGER))
        front.accept(event_in("us-east-1", "a-2", STRANGER))
    warnings = [entry for entry in logs if entry["event"] == "events_not_covered"]
    assert len(warnings) == 1
    assert warnings[0]["scope"] == f"account {STRANGER}"
    assert warnings[0]["covered"] == [OWN]
    assert "`accounts:`" in warnings[0]["fix"]
