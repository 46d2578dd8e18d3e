"""`run` settings: flag over environment over default, and clear errors for bad values."""

from __future__ import annotations

import re

import pytest

from daemon.cli import build_parser
from daemon.errors import SettingsError
from daemon.settings import RunSettings, from_args


def settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *argv: str) -> RunSettings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return from_args(build_parser().parse_args(["run", *argv]))


def test_environment_fills_what_flags_do_not_say(monkeypatch: pytest.MonkeyPatch) -> None:
    got = settings(
        monkeypatch,
        {
            "FLINK_REMEDIATOR_CONFIG": "/etc/c.yaml",
            "FLINK_REMEDIATOR_DRY_RUN": "true",
            "FLINK_REMEDIATOR_METRICS_PORT": "9000",
        },
        "--metrics-port",
        "9100",
    )
    assert (got.config, got.dry_run, got.metrics_port) == ("/etc/c.yaml", True, 9100)
    assert got.workers == RunSettings.workers


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({"FLINK_REMEDIATOR_DRY_RUN": "maybe"}, ("--config", "c"), "DRY_RUN): 'maybe' is not a"),
        ({}, ("--config", "c", "--metrics-port", "70000"), "not a TCP port"),
        ({}, ("--config", "c", "--poll-wait-seconds", "30"), "0..20"),
        ({"FLINK_REMEDIATOR_WORKERS": "many"}, ("--config", "c"), "WORKERS): 'many' is not a"),
        ({}, (), "--config"),
    ],
)
def test_bad_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], argv: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings(monkeypatch, env, *argv)
