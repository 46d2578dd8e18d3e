"""Fixtures for end-to-end tests against the session sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.demo import seed
from sandbox.server import Sandbox


@pytest.fixture
def demo(fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The demo account seeded in the fresh sandbox; the environment holds the daemon's keys."""
    info = seed(
        fresh_sandbox.endpoint_url,
        fresh_sandbox.region,
        fresh_sandbox.account_id,
        (fresh_sandbox.queue_url, fresh_sandbox.dlq_url),
    )
    keys = info["principals"]["daemon"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    monkeypatch.setenv("AWS_REGION", fresh_sandbox.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["aws_secret_access_key"])
    return info
