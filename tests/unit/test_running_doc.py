"""docs/running.md lists every setting of `run`, with its flag and environment variable."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from daemon.settings import ENV_PREFIX, RunSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "running.md"


def test_every_setting_is_documented_with_flag_and_env() -> None:
    text = DOC.read_text()
    for f in fields(RunSettings):
        flag, env = f"--{f.name.replace('_', '-')}", f"{ENV_PREFIX}{f.name.upper()}"
        assert f"| `{flag}` | `{env}` |" in text, f.name
