"""`plan --app` with a pattern that matches no application of the sandbox is a usage error
(exit 2) that names the closest applications, and reads nothing more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from daemon.commands import exits
from sandbox.server import Sandbox
from tests.e2e.configs import write_config


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("fraud-scorrer", "no application matches 'fraud-scorrer' (did you mean fraud-scorer?)"),
        ("nomatch*", "no application matches 'nomatch*'; the configured accounts and Regions"),
    ],
)
def test_an_app_pattern_matching_nothing_is_a_usage_error_with_a_suggestion(
    pattern: str,
    says: str,
    demo: dict[str, Any],
    fresh_sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path / "c.yaml")
    capsys.readouterr()
    assert main(["plan", "--config", str(config), "--app", pattern]) == exits.USAGE
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("error: --app: ") and says in line
    if pattern == "nomatch*":
        assert all(name in line for name in demo["applications"])
