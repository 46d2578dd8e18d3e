"""External tools the telemetry tests need."""

from __future__ import annotations

import os
import shutil

import pytest


def require_promtool() -> str:
    """Path of promtool. Missing: the test fails in CI (CI set) and is skipped elsewhere."""
    path = shutil.which("promtool")
    if path is None:
        message = "promtool not found (Debian package `prometheus`; .ci/run installs it)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(message)
        pytest.skip(message)
    return path
