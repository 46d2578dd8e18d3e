"""encryption: pure check and fix, property tests, and a fix over HTTP on the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.state import AppRef
from remediations.encryption import Encryption, Settings
from sandbox.server import Sandbox
from sandbox.testing import flink_key
from tests.contract.harness import Harness, Rules, assert_fixed_and_idempotent
from tests.contract.scenarios import Scenario, plain
from tests.posture_factories import (
    KEY_ARN,
    OTHER_KEY_ARN,
    apply_calls,
    encryptions,
    observed_with,
    posture_detail,
    posture_details,
)

RULE = Encryption()
PRINCIPALS = ("kinesisanalytics.amazonaws.com", "infrastructure.kinesisanalytics.amazonaws.com")
key_settings = st.builds(Settings, key_id=st.sampled_from([None, KEY_ARN, OTHER_KEY_ARN]))


def test_customer_managed_key_is_compliant_without_a_configured_key() -> None:
    detail = posture_detail(encryption={"KeyType": "CUSTOMER_MANAGED_KEY", "KeyId": OTHER_KEY_ARN})
    assert RULE.check(Settings(), observed_with(detail)) == ()


def test_aws_owned_key_without_configured_key_is_reported_not_fixed() -> None:
    state = observed_with(posture_detail(encryption={"KeyType": "AWS_OWNED_KEY"}))
    (drift,) = RULE.check(Settings(), state)
    assert not drift.fixable
    assert (drift.current, drift.desired) == ("AWS_OWNED_KEY", "CUSTOMER_MANAGED_KEY")
    assert RULE.fix(Settings(), state, (drift,)) == ()


def test_missing_description_counts_as_aws_owned_key() -> None:
    (drift,) = RULE.check(Settings(), observed_with(posture_detail(encryption=None)))
    assert drift.current == "AWS_OWNED_KEY"


def test_configured_key_is_set_with_one_update_and_the_plan_warns_about_the_key_policy() -> None:
    settings = Settings(key_id=KEY_ARN)
    for encryption in (
        {"KeyType": "AWS_OWNED_KEY"},
        {"KeyType": "CUSTOMER_MANAGED_KEY", "KeyId": OTHER_KEY_ARN},
    ):
        state = observed_with(posture_detail(encryption=encryption))
        (drift,) = RULE.check(settings, state)
        assert drift.fixable
        assert "key policy" in drift.message
        assert all(principal in drift.message for principal in PRINCIPALS)
        (call,) = RULE.fix(settings, state, (drift,))
        assert call.versioned
        assert call.params["ApplicationConfigurationUpdate"] == {
            "ApplicationEncryptionConfigurationUpdate": {
                "KeyTypeUpdate": "CUSTOMER_MANAGED_KEY",
                "KeyIdUpdate": KEY_ARN,
            }
        }


@given(encryptions, key_settings)
def test_drift_iff_not_the_required_key(
    encryption: dict[str, Any] | None, settings: Settings
) -> None:
    drifts = RULE.check(settings, observed_with(posture_detail(encryption=encryption)))
    current = encryption or {"KeyType": "AWS_OWNED_KEY"}
    compliant = current["KeyType"] == "CUSTOMER_MANAGED_KEY" and settings.key_id in (
        None,
        current.get("KeyId"),
    )
    assert bool(drifts) == (not compliant)
    assert all(d.fixable == (settings.key_id is not None) for d in drifts)


@given(posture_details(), key_settings)
def test_fixable_drift_is_gone_after_the_fix(detail: dict[str, Any], settings: Settings) -> None:
    state = observed_with(detail)
    drifts = RULE.check(settings, state)
    after = RULE.check(settings, apply_calls(state, RULE.fix(settings, state, drifts)))
    assert after == tuple(d for d in drifts if not d.fixable)


def test_sandbox_app_on_an_aws_owned_key_gets_the_configured_key(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    key_arn = flink_key(h.client("kms"))
    app = h.create_app("aws-owned")
    rules: Rules = [(RULE, Settings(key_id=key_arn), "enforce")]
    assert_fixed_and_idempotent(h, app, rules)
    assert h.drifts(app, rules) == []
    described = h.observe(app, rules).detail["ApplicationConfigurationDescription"]
    assert described["ApplicationEncryptionConfigurationDescription"] == {
        "KeyType": "CUSTOMER_MANAGED_KEY",
        "KeyId": key_arn,
    }


def test_sandbox_without_a_configured_key_only_alerts(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    app = h.create_app("aws-owned")
    h.clear_calls()
    result = h.reconcile(app, [(RULE, Settings(), "enforce")])
    assert result.result == "drift"
    assert result.plan is not None and [a.mode for a in result.plan.actions] == ["alert"]
    assert h.mutating_calls() == []


def _key_settings(h: Harness) -> Settings:
    key = flink_key(h.client("kms"))
    return Settings(key_id=key)


def _encrypted(h: Harness, settings: Settings, name: str) -> AppRef:
    config = {"KeyType": "CUSTOMER_MANAGED_KEY", "KeyId": settings.key_id}
    return h.create_app(name, {"ApplicationEncryptionConfiguration": config})


SCENARIO = Scenario(_key_settings, _encrypted, plain())
