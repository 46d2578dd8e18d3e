"""Desired-state files for end-to-end tests, written next to the test."""

from __future__ import annotations

from pathlib import Path

import yaml

from remediations import RULES


def waiver_entry(app: str, rule: str, expires: str) -> dict[str, object]:
    """One `waivers:` entry (WVR-7, CHG-4711, jane.doe) allowing `rule` on `app` until `expires`."""
    return {
        "id": "WVR-7",
        "match": {"names": [app]},
        "rules": [rule],
        "reason": "the log pipeline of this job moves in Q3",
        "ticket": "CHG-4711",
        "approved_by": "jane.doe",
        "expires": expires,
    }


def write_config(
    path: Path,
    enabled: tuple[str, ...] = ("cloudwatch_logging",),
    regions: tuple[str, ...] = ("eu-west-1",),
    account: str = "123456789012",
    **rule_settings: dict[str, object],
) -> Path:
    """A config enabling only `enabled` rules (so each test sees only the drift it is about)."""
    rules: dict[str, dict[str, object]] = {
        rule_id: {"enabled": rule_id in enabled, **rule_settings.get(rule_id, {})}
        for rule_id in RULES
    }
    doc = {
        "version": 1,
        "accounts": [account],
        "regions": list(regions),
        # The demo's applications are RUNNING without system rollback; restarts are allowed here
        # (these tests are about other things; tests/e2e/test_safe_remediation.py and
        # test_stopped_by_fix.py are about restarts and require_system_rollback).
        "defaults": {
            "mode": "enforce",
            "disruption": {"running": "allow", "require_system_rollback": False},
        },
        "rules": rules,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
