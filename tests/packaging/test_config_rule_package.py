"""`config-rule package`: the Lambda zip holds the handler, its dependencies for the Lambda
platform and the config, and the handler imports from the zip alone (no site-packages)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from daemon.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.wheel
def test_the_package_runs_the_handler_from_the_zip_alone(tmp_path: Path) -> None:
    out = tmp_path / "function.zip"
    config = ROOT / "config" / "desired-state.example.yaml"
    argv = ["config-rule", "package", "--config", str(config), "--output", str(out)]
    assert main([*argv, "--source", str(ROOT)]) == 0
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "unzipped")
    assert {"daemon/commands/config_rule.py", "desired-state.yaml"} <= names
    assert any(n.startswith("pydantic_core/") and n.endswith(".so") for n in names)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from daemon.commands.config_rule import handler; "
        "import remediations; print(len(remediations.RULES))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(tmp_path / "unzipped")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 10
