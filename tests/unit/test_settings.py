"""`run` settings: flag over environment over default, and clear errors for bad values."""

from __future__ import annotations

import re

import pytest

from daemon.cli import build_parser
from daemon.errors import SettingsError
from daemon.regions import known_regions, region_from_queue_url, region_problem
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


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/events", "eu-west-1"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/events", "cn-north-1"),
        ("https://us-east-2.queue.amazonaws.com/123456789012/events", "us-east-2"),
        ("http://127.0.0.1:4566/123456789012/flink-remediator-events", ""),  # the sandbox
    ],
)
def test_region_comes_from_an_aws_queue_url(url: str, region: str) -> None:
    assert region_from_queue_url(url) == region


def test_region_precedence_queue_url_then_flag_then_aws_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    env = {"AWS_REGION": "ap-south-1"}
    queue = "https://sqs.us-west-2.amazonaws.com/123456789012/events"
    sandbox_queue = "http://127.0.0.1:4566/123456789012/events"
    assert settings(monkeypatch, env, "--config", "c", "--queue-url", queue).region == "us-west-2"
    assert (
        settings(
            monkeypatch,
            env,
            "--config",
            "c",
            "--queue-url",
            sandbox_queue,
            "--region",
            "eu-central-1",
        ).region
        == "eu-central-1"
    )
    assert settings(monkeypatch, env, "--config", "c").region == "ap-south-1"


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({"AWS_REGION": "eu-wset-1"}, (), "AWS_REGION: 'eu-wset-1' is not an AWS Region"),
        ({}, ("--region", "eu-wset-1"), "--region (FLINK_REMEDIATOR_REGION): 'eu-wset-1'"),
        (
            {},
            ("--queue-url", "https://sqs.eu-west-1.amazonaws.com/1/q", "--region", "us-east-1"),
            "us-east-1 differs from the queue URL's Region eu-west-1",
        ),
        (
            {},
            ("--queue-url", "https://sqs.eu-wset-1.amazonaws.com/1/q"),
            "--queue-url: 'eu-wset-1'",
        ),
    ],
)
def test_unknown_or_conflicting_regions_stop_the_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], argv: tuple[str, ...], message: str
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings(monkeypatch, env, "--config", "c", *argv)


def test_known_regions_come_from_every_botocore_partition() -> None:
    assert {"eu-west-1", "cn-north-1", "us-gov-west-1"} <= known_regions()
    assert region_problem("eu-west-1") == ""
    assert "did you mean eu-west-1?" in region_problem("eu-wset-1")
