"""code_location: pure check (report only), property tests, and an alert on the sandbox."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from remediations.code_location import CodeLocation, Settings, bucket_name, code_origin
from sandbox.server import Sandbox
from tests.contract.harness import Harness, Rules
from tests.contract.scenarios import Scenario, plain
from tests.posture_factories import (
    inline_code,
    observed_with,
    posture_detail,
    posture_details,
    s3_code,
)

RULE = CodeLocation()
patterns = st.lists(st.sampled_from(["acme-artifacts-*", "scratch", "arn:aws:s3:::evil"]))


def test_allowed_bucket_is_compliant_and_others_are_reported() -> None:
    settings = Settings(allowed_buckets=["acme-artifacts-*"])
    ok = observed_with(posture_detail(code=s3_code("acme-artifacts-prod")))
    assert RULE.check(settings, ok) == ()
    (drift,) = RULE.check(settings, observed_with(posture_detail(code=s3_code("scratch"))))
    assert (drift.current, drift.fixable) == ("arn:aws:s3:::scratch", False)


def test_inline_code_needs_allow_inline_code() -> None:
    state = observed_with(posture_detail(code=inline_code()))
    assert len(RULE.check(Settings(allowed_buckets=["b"]), state)) == 1
    assert RULE.check(Settings(allowed_buckets=["b"], allow_inline_code=True), state) == ()


def test_empty_allowlist_checks_nothing_and_keys_are_rejected() -> None:
    assert RULE.check(Settings(), observed_with(posture_detail(code=s3_code("x")))) == ()
    assert Settings(allowed_buckets=["arn:aws:s3:::a"]).allowed_buckets == ["a"]
    with pytest.raises(ValidationError, match="without a key"):
        Settings(allowed_buckets=["bucket/prefix"])


@given(posture_details(), patterns, st.booleans())
def test_drift_iff_code_comes_from_elsewhere(
    detail: dict[str, Any], allowed: list[str], inline_ok: bool
) -> None:
    settings = Settings(allowed_buckets=allowed, allow_inline_code=inline_ok)
    drifts = RULE.check(settings, observed_with(detail))
    origin = code_origin(detail)
    if not allowed or origin is None:
        assert drifts == ()
        return
    kind, bucket = origin
    names = [bucket_name(p) for p in allowed]
    ok = inline_ok if kind == "inline" else any(fnmatchcase(bucket_name(bucket), p) for p in names)
    assert bool(drifts) == (not ok)
    assert all(not d.fixable for d in drifts)


def test_sandbox_code_from_another_bucket_is_reported_and_never_changed(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    code = {
        "CodeContentType": "ZIPFILE",
        "CodeContent": {
            "S3ContentLocation": {
                "BucketARN": "arn:aws:s3:::someones-scratch",
                "FileKey": "job.jar",
            }
        },
    }
    app = h.create_app("byo-jar", {"ApplicationCodeConfiguration": code})
    h.clear_calls()
    rules: Rules = [(RULE, Settings(allowed_buckets=["acme-artifacts-*"]), "enforce")]
    result = h.reconcile(app, rules)
    assert result.result == "drift"
    assert result.plan is not None and [a.mode for a in result.plan.actions] == ["alert"]
    assert h.mutating_calls() == []
    (drift,) = h.drifts(app, rules)
    assert drift.current == "arn:aws:s3:::someones-scratch"


def _code_from(bucket: str) -> dict[str, Any]:
    location = {"BucketARN": f"arn:aws:s3:::{bucket}", "FileKey": "job.jar"}
    return {
        "ApplicationCodeConfiguration": {
            "CodeContentType": "ZIPFILE",
            "CodeContent": {"S3ContentLocation": location},
        }
    }


SCENARIO = Scenario(
    lambda h: Settings(allowed_buckets=["acme-artifacts-*"]),
    plain(_code_from("acme-artifacts-prod")),
    plain(_code_from("someones-scratch")),
)
