"""Waivers (issue 31): each refusal names file, line and field; matching and the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.desired.loader import parse_config
from daemon.desired.resolve import resolve
from daemon.errors import ConfigError
from daemon.reconcile.plan import plan
from daemon.runtime_config import ConfigWatcher
from daemon.state import AppRef, Observed
from daemon.telemetry import metrics
from remediations import RULES

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
APP = AppRef("123456789012", "eu-west-1", "payments-enricher")
HEAD = """\
version: 1
accounts: ['123456789012']
regions: [eu-west-1]
"""


def waiver(**fields: str) -> str:
    entry = {
        "id": "W1",
        "match": "{names: [pay*]}",
        "rules": "[snapshots]",
        "reason": "legacy job",
        "ticket": "CHG-1",
        "approved_by": "jane",
        "expires": "2026-09-01",
    } | fields
    lines = [f"    {k}: {v}" for k, v in entry.items() if v != "-"]
    return HEAD + "waivers:\n  -" + "\n".join(lines)[3:] + "\n"


def problems(text: str, now: datetime = NOW) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "desired.yaml", now=now)
    return caught.value.problems


def test_a_valid_waiver_loads_with_its_line() -> None:
    config = parse_config(waiver(), "desired.yaml", now=NOW)
    (loaded,) = config.waivers
    assert loaded.expires == datetime(2026, 9, 1, tzinfo=UTC) and loaded.line == 5
    assert loaded.ref.text == "waived (CHG-1, jane, 2026-09-01T00:00:00Z)"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"ticket": "-"}, "desired.yaml:5: waivers[0].ticket: Field required"),
        ({"approved_by": "-"}, "desired.yaml:5: waivers[0].approved_by: Field required"),
        ({"approved_by": "'  '"}, "desired.yaml:10: waivers[0].approved_by: must not be blank"),
        (
            {"expires": "2026-05-31T23:59:59Z"},
            "desired.yaml:11: waivers[0].expires: waiver expired at 2026-05-31T23:59:59Z "
            "(now 2026-06-01T12:00:00Z)",
        ),
        (
            {"expires": "2027-06-02"},
            "desired.yaml:11: waivers[0].expires: 2027-06-02T00:00:00Z is more than "
            "waiver_policy.max_days (365) days ahead (at most 2027-06-01T12:00:00Z); "
            "a waiver is never permanent",
        ),
        (
            {"expires": "2026-09-01 10:00:00"},
            "desired.yaml:11: waivers[0].expires: 2026-09-01T10:00:00 has no time zone",
        ),
        ({"rules": "[snapshotz]"}, "desired.yaml:7: waivers[0].rules[0]: unknown rule 'snapshotz'"),
    ],
)
def test_each_refusal_names_file_line_and_field(fields: dict[str, str], expected: str) -> None:
    found = problems(waiver(**fields))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_the_maximum_is_configurable_and_now_is_the_callers_clock() -> None:
    text = waiver(expires="2026-07-01") + "waiver_policy: {max_days: 20}\n"
    assert "waiver_policy.max_days (20)" in problems(text)[0]
    later = NOW + timedelta(days=200)
    assert "waiver expired at 2026-09-01T00:00:00Z" in problems(waiver(), now=later)[0]


def test_duplicate_ids_are_refused() -> None:
    text = waiver() + "\n".join(waiver().splitlines()[4:]) + "\n"  # the entry twice
    assert any("duplicate waiver id 'W1'" in p for p in problems(text))


def test_matching_and_expiry() -> None:
    config = parse_config(waiver(), "desired.yaml", now=NOW)
    assert dict(resolve(config, APP, {}, NOW).waivers).keys() == {"snapshots"}
    other = AppRef(APP.account, APP.region, "ledger-sink")
    assert not resolve(config, other, {}, NOW).waivers
    assert not resolve(config, APP, {}, datetime(2026, 9, 1, tzinfo=UTC)).waivers  # expired
    tagged = parse_config(waiver(match="{tags: {team: risk}}", rules="['*']"), "d.yaml", now=NOW)
    assert set(resolve(tagged, APP, {"team": "risk"}, NOW).waivers) == set(
        resolve(tagged, APP, {"team": "risk"}, NOW).rules
    )
    assert not resolve(tagged, APP, {"team": "ops"}, NOW).waivers


def test_an_opt_out_tag_can_require_a_waiver() -> None:
    tag = {"flink-remediator/ignore": "true"}
    plain = parse_config(HEAD + "ignore_tag: flink-remediator/ignore\n", "d.yaml", now=NOW)
    assert resolve(plain, APP, tag, NOW).ignored.startswith("opt-out tag")
    strict = HEAD + "ignore_tag: {requires_waiver: true}\n"
    unwaived = resolve(parse_config(strict, "d.yaml", now=NOW), APP, tag, NOW)
    assert not unwaived.ignored and "not honoured" in unwaived.opt_out_refused
    with_all = waiver(rules="['*']") + "ignore_tag: {requires_waiver: true}\n"
    waived = resolve(parse_config(with_all, "d.yaml", now=NOW), APP, tag, NOW)
    assert "waived (CHG-1, jane, 2026-09-01T00:00:00Z)" in waived.ignored


def test_a_waived_drift_is_planned_with_no_call() -> None:
    config = parse_config(waiver(), "desired.yaml", now=NOW)
    rule = RULES["snapshots"]
    detail = {
        "ApplicationStatus": "READY",
        "ApplicationVersionId": 3,
        "RuntimeEnvironment": "FLINK-1_20",
        "ApplicationMode": "STREAMING",
        "ApplicationConfigurationDescription": {
            "ApplicationSnapshotConfigurationDescription": {"SnapshotsEnabled": False}
        },
    }
    observed = Observed(APP, detail, {})
    settings = resolve(config, APP, {}, NOW).rules["snapshots"].settings
    waived = resolve(config, APP, {}, NOW).waivers
    (action,) = plan(observed, [(rule, settings, "enforce")], NOW, waived=waived).actions
    assert action.held == "waived" and action.calls == () and action.waiver is not None
    (fix,) = plan(observed, [(rule, settings, "enforce")], NOW).actions
    assert fix.held is None and fix.calls  # without the waiver: fixed


def test_the_daemon_starts_without_an_expired_waiver_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate/plan/a reload refuse an expired waiver; the daemon's start leaves it out (the
    fleet stays protected), with a warning naming file, line and field, and a metric."""
    text = waiver(expires="2026-05-31T23:59:59Z")
    assert problems(text)[0].startswith("desired.yaml:11: waivers[0].expires: waiver expired")
    config = parse_config(text, "desired.yaml", now=NOW, expired_waivers="ignore")
    assert config.waivers == ()
    assert config.expired_waivers == {
        "W1": "desired.yaml:11: waivers[0].expires: waiver expired at 2026-05-31T23:59:59Z: "
        "ignored (treated as absent)"
    }
    watcher = ConfigWatcher(config, str(tmp_path / "desired.yaml"), lambda: NOW)
    watcher.publish()
    assert (
        metrics.REGISTRY.get_sample_value(
            "flink_remediator_waiver_expired_ignored", {"waiver": "W1"}
        )
        == 1.0
    )
    assert "waiver_expired_ignored" in capsys.readouterr().out
    # A reload of the same file is refused, and the daemon keeps what it runs.
    (tmp_path / "desired.yaml").write_text(text)
    watcher.reload_if_changed()
    assert watcher.current() is config
    fine = parse_config(waiver(), "desired.yaml", now=NOW)
    ConfigWatcher(fine, "desired.yaml").publish()
    assert (
        metrics.REGISTRY.get_sample_value(
            "flink_remediator_waiver_expired_ignored", {"waiver": "W1"}
        )
        is None
    )
