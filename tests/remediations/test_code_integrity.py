"""code_integrity: pure checks, and on the sandbox (moto S3): an unpinned code object is pinned
to the key's current version (opt-in), a public unencrypted bucket is alerted, an unversioned
bucket is not fixable, a bucket that cannot be read is "cannot verify"."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.state import AppRef
from remediations.code_integrity import CodeBucket, CodeIntegrity, Settings
from sandbox.server import Sandbox
from sandbox.testing import advance_clock
from tests.contract.harness import Harness, Rules
from tests.contract.scenarios import Scenario
from tests.factories import flink_detail, observed

RULE = CodeIntegrity()
ALL_ON = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def state(facts: CodeBucket, version: str | None = None) -> Any:
    detail = flink_detail()
    location = {"BucketARN": f"arn:aws:s3:::{facts.bucket}", "FileKey": facts.key}
    if version:
        location["ObjectVersion"] = version
    detail["ApplicationConfigurationDescription"]["ApplicationCodeConfigurationDescription"] = {
        "CodeContentType": "ZIPFILE",
        "CodeContentDescription": {"S3ApplicationCodeLocationDescription": location},
    }
    return observed(detail, {RULE.id: facts})


GOOD = CodeBucket("artifacts", "job.jar", "v2", ALL_ON, "aws:kms", KEY)


def fields(settings: Settings, facts: CodeBucket, version: str | None = "v1") -> dict[str, bool]:
    return {d.field: d.fixable for d in RULE.check(settings, state(facts, version))}


def test_a_pinned_object_in_a_private_encrypted_bucket_complies() -> None:
    assert fields(Settings(allowed_key_arns=[KEY]), GOOD) == {}


def test_pinning_is_fixable_only_when_opted_in_and_versioned() -> None:
    field = "ApplicationCodeConfiguration.S3ContentLocation.ObjectVersion"
    assert fields(Settings(), GOOD, None) == {field: False}
    assert fields(Settings(pin_object_version=True), GOOD, None) == {field: True}
    unversioned = CodeBucket("artifacts", "job.jar", "", ALL_ON, "AES256")
    assert fields(Settings(pin_object_version=True), unversioned, None) == {field: False}
    settings = Settings(pin_object_version=True)
    pinned = state(GOOD, "v2")
    assert RULE.fix(settings, pinned, RULE.check(settings, pinned)) == ()
    (call,) = RULE.fix(settings, state(GOOD), RULE.check(settings, state(GOOD, None)))
    update = call.params["ApplicationConfigurationUpdate"]["ApplicationCodeConfigurationUpdate"]
    assert update["CodeContentUpdate"]["S3ContentLocationUpdate"] == {"ObjectVersionUpdate": "v2"}


@pytest.mark.parametrize(
    ("facts", "settings", "field"),
    [
        (
            CodeBucket("b", "k", "v", ALL_ON[:3], "AES256"),
            Settings(),
            "CodeBucket.PublicAccessBlock",
        ),
        (CodeBucket("b", "k", "v", ALL_ON, ""), Settings(), "CodeBucket.Encryption"),
        (
            CodeBucket("b", "k", "v", ALL_ON, "AES256"),
            Settings(require_kms=True),
            "CodeBucket.Encryption",
        ),
        (
            CodeBucket("b", "k", "v", ALL_ON, "aws:kms", "other"),
            Settings(allowed_key_arns=[KEY]),
            "CodeBucket.Encryption",
        ),
        (CodeBucket("b", "k", unverifiable="AccessDenied"), Settings(), "CodeBucket"),
    ],
)
def test_bucket_findings_are_alerts(facts: CodeBucket, settings: Settings, field: str) -> None:
    assert fields(settings, facts) == {field: False}


def test_inline_code_has_nothing_to_check() -> None:
    assert RULE.check(Settings(), observed(flink_detail())) == ()


# ---- on the sandbox ---------------------------------------------------------------------------


def bucket(
    h: Harness, name: str, *, versioned: bool = True, private: bool = True, sse: bool = True
) -> str:
    s3 = h.client("s3")
    s3.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": h.sandbox.region}
    )
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if private:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration={f: True for f in ALL_ON}
        )
    if sse:
        default = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [default]}
        )
    s3.put_object(Bucket=name, Key="job.jar", Body=b"v1")
    return str(s3.put_object(Bucket=name, Key="job.jar", Body=b"v2").get("VersionId", ""))


def code(bucket_name: str, version: str | None = None) -> dict[str, Any]:
    location = {"BucketARN": f"arn:aws:s3:::{bucket_name}", "FileKey": "job.jar"}
    if version:
        location["ObjectVersion"] = version
    content = {"S3ContentLocation": location}
    return {"ApplicationCodeConfiguration": {"CodeContentType": "ZIPFILE", "CodeContent": content}}


def with_code(pinned: bool) -> Any:
    def build(h: Harness, settings: Settings, name: str) -> AppRef:
        latest = bucket(h, f"{name}-artifacts")
        return h.create_app(name, code(f"{name}-artifacts", latest if pinned else None))

    return build


def test_sandbox_public_unencrypted_unversioned_and_unreadable_buckets(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    bucket(h, "scratch-artifacts", versioned=False, private=False, sse=False)
    settings = Settings(pin_object_version=True)
    rules: Rules = [(RULE, settings, "enforce")]
    loose = h.create_app("loose", code("scratch-artifacts"))
    gone = h.create_app("gone", code("no-such-bucket-anywhere", "v1"))
    h.clear_calls()
    for app in (loose, gone):
        assert h.reconcile(app, rules).result == "drift"
    assert h.mutating_calls() == []
    found = {d.field: d.fixable for d in h.drifts(loose, rules)}
    assert found == {
        "ApplicationCodeConfiguration.S3ContentLocation.ObjectVersion": False,  # unversioned
        "CodeBucket.PublicAccessBlock": False,
        "CodeBucket.Encryption": False,
    }, found
    (unreadable,) = h.drifts(gone, rules)
    assert "cannot verify" in unreadable.message and not unreadable.fixable


def test_sandbox_pinning_a_running_app_follows_the_disruption_settings(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    app = with_code(pinned=False)(h, Settings(), "live")
    h.client("kinesisanalyticsv2").start_application(ApplicationName="live")
    advance_clock(h.sandbox.endpoint_url, 5)
    h.clear_calls()
    held: Rules = [(RULE, Settings(pin_object_version=True), "enforce")]  # default: alert
    result = h.reconcile(app, held)
    assert h.mutating_calls() == []
    assert [o.outcome for o in result.outcomes] == ["alerted"], result.outcomes
    # The app has no system rollback: allowing the restart also lifts require_system_rollback.
    unprotected = {"running": "allow", "require_system_rollback": False}
    allowed = Settings(pin_object_version=True, disruption=unprotected)
    result = h.reconcile(app, [(RULE, allowed, "enforce")])
    assert h.mutating_calls() == ["UpdateApplication"]
    advance_clock(h.sandbox.endpoint_url, 5)
    assert h.drifts(app, [(RULE, allowed, "enforce")]) == []


SCENARIO = Scenario(
    lambda h: Settings(pin_object_version=True), with_code(pinned=True), with_code(pinned=False)
)
