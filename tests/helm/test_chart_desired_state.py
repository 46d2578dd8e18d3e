"""The desired state the chart mounts is one the daemon accepts (`flink-remediator validate`)."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.helm.chart import REPO, render

CLI = Path(sys.executable).with_name("flink-remediator")
EXAMPLE = REPO / "config/desired-state.example.yaml"


@cache
def cli_help() -> str:
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: pip install -e .")
    return subprocess.run([str(CLI), "--help"], capture_output=True, text=True, check=False).stdout


def validate(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if "validate" not in cli_help():
        pytest.skip("the `validate` subcommand does not exist yet in daemon/cli.py")
    config = tmp_path / "desired-state.yaml"
    config.write_text(text)
    return subprocess.run(
        [str(CLI), "validate", str(config)], capture_output=True, text=True, check=False
    )


CONFIGS = {
    "defaults": {},
    "overridden": {
        "config": {
            "accounts": ["111122223333"],
            "regions": ["eu-west-1", "us-east-1"],
            "defaults": {"mode": "dry-run"},
        }
    },
}


@pytest.mark.parametrize("values", CONFIGS.values(), ids=CONFIGS.keys())
def test_rendered_desired_state_validates(values: dict[str, Any], tmp_path: Path) -> None:
    result = validate(render(values).desired_state_text(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_example_passed_as_config_file_validates(tmp_path: Path) -> None:
    text = render({"configFile": EXAMPLE.read_text()}).desired_state_text()
    assert text == EXAMPLE.read_text()
    result = validate(text, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_bad_desired_state_fails_validation(tmp_path: Path) -> None:
    # The chart does not check the desired state itself; this shows the check above can fail.
    text = render({"config": {"accounts": ["12345"]}}).desired_state_text()
    result = validate(text, tmp_path)
    assert result.returncode != 0
    assert "accounts" in result.stdout + result.stderr
