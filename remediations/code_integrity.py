"""code_integrity: the application's code object cannot change under it.

code_location checks which bucket the code comes from; this rule checks the object and bucket:
- the S3 code location pins `ObjectVersion` (without it, whoever can write the key replaces
  the code at the next start). Alerted by default; `pin_object_version` opts in to the fix, an
  UpdateApplication setting `ObjectVersionUpdate` to the key's current version id (restarting
  when RUNNING: the `disruption` settings apply as to every restarting fix). An unversioned
  bucket cannot be pinned: reported, not fixable.
- the bucket blocks public access (GetPublicAccessBlock, all four flags) and is encrypted at
  rest (GetBucketEncryption; `require_kms` / `allowed_key_arns` for aws:kms with an allowed
  key). Read-only: alerted.
A bucket the daemon cannot read (another account, no permission, gone) is reported "cannot
verify": not compliant, not an error of the reconcile. Inline code has nothing to check.
https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_S3ContentLocation.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetPublicAccessBlock.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from daemon import errors
from daemon.state import AppRef, Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.app_config import section, update_application
from remediations.base import APP_EVENTS, UPDATE_APPLICATION, Reader, Rule, RuleSettings
from remediations.code_location import bucket_name
from remediations.grants import Scope, Statement, application_writes

LOCATION = (
    "ApplicationConfigurationDescription",
    "ApplicationCodeConfigurationDescription",
    "CodeContentDescription",
    "S3ApplicationCodeLocationDescription",
)
FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
# Absent configuration: S3's own error codes for "nothing set".
NO_BLOCK, NO_ENCRYPTION = (
    "NoSuchPublicAccessBlockConfiguration",
    ("ServerSideEncryptionConfigurationNotFoundError"),
)


class Settings(RuleSettings):
    require_object_version: bool = True
    pin_object_version: bool = Field(
        False, description="Fix: pin the key's current version (UpdateApplication; restarts)."
    )
    require_public_access_block: bool = True
    require_encryption: bool = True
    require_kms: bool = Field(False, description="Encryption must be aws:kms (SSE-KMS).")
    allowed_key_arns: list[str] = Field(
        default_factory=list, description="If set, the bucket's KMS key must be one of these."
    )


@dataclass(frozen=True)
class CodeBucket:
    bucket: str
    key: str
    latest_version: str = ""  # "" unversioned, or the key is gone
    blocks: tuple[str, ...] = ()  # the public-access flags that are on
    algorithm: str = ""  # AES256, aws:kms, aws:kms:dsse; "" none
    kms_key: str = ""
    unverifiable: str = ""


def location(detail: Mapping[str, Any]) -> Mapping[str, Any]:
    return section(detail, LOCATION)


class CodeIntegrity(Rule[Settings, CodeBucket]):
    summary = "The code object is version-pinned in a private, encrypted bucket."
    severity = "MEDIUM"
    default_mode = "alert"
    read_actions = (
        "s3:ListBucketVersions",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetEncryptionConfiguration",
    )
    write_actions = UPDATE_APPLICATION
    trigger_events = APP_EVENTS

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.code(detail)  # bucket, key and the pinned ObjectVersion

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return application_writes(self.write_actions, scope)

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> CodeBucket | None:
        where = location(detail)
        if not where.get("BucketARN"):
            return None
        bucket, key = bucket_name(str(where["BucketARN"])), str(where.get("FileKey", ""))
        try:
            return CodeBucket(bucket, key, *_bucket_state(read, bucket, key))
        except errors.UndeclaredAction:
            raise
        except errors.PermanentAwsError as exc:  # AccessDenied, NoSuchBucket, another account
            return CodeBucket(bucket, key, unverifiable=str(exc))

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        facts = self.facts(observed)
        if facts is None:
            return ()
        arn = f"arn:aws:s3:::{facts.bucket}"
        if facts.unverifiable:
            message = f"cannot verify bucket {facts.bucket}: {facts.unverifiable}"
            return (
                self.drift(
                    observed, "CodeBucket", None, "readable", message, fixable=False, resource=arn
                ),
            )
        drifts: list[Drift] = []
        pinned = location(observed.detail).get("ObjectVersion")
        if settings.require_object_version and not pinned:
            can_pin = settings.pin_object_version and bool(facts.latest_version)
            why = "" if facts.latest_version else " (the bucket is not versioned)"
            drifts.append(
                self.drift(
                    observed,
                    "ApplicationCodeConfiguration.S3ContentLocation.ObjectVersion",
                    None,
                    facts.latest_version or "a version id",
                    f"code s3://{facts.bucket}/{facts.key} is not pinned to a version{why}",
                    fixable=can_pin,
                )
            )
        off = [f for f in FLAGS if f not in facts.blocks]
        if settings.require_public_access_block and off:
            message = f"bucket {facts.bucket} does not block public access: {', '.join(off)} off"
            drifts.append(
                self._bucket(observed, "PublicAccessBlock", list(facts.blocks), message, arn)
            )
        problem = _encryption_problem(settings, facts)
        if problem:
            drifts.append(
                self._bucket(observed, "Encryption", facts.algorithm or None, problem, arn)
            )
        return tuple(drifts)

    def _bucket(
        self, observed: Observed, field: str, current: Any, message: str, arn: str
    ) -> Drift:
        return self.drift(
            observed, f"CodeBucket.{field}", current, "on", message, fixable=False, resource=arn
        )

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        facts = self.facts(observed)
        pin = [d for d in drifts if d.field.endswith(".ObjectVersion") and d.fixable]
        if not pin or facts is None:
            return ()
        location_update = {"S3ContentLocationUpdate": {"ObjectVersionUpdate": facts.latest_version}}
        update = {"ApplicationCodeConfigurationUpdate": {"CodeContentUpdate": location_update}}
        return (update_application(observed.app, update),)


def _bucket_state(read: Reader, bucket: str, key: str) -> tuple[str, tuple[str, ...], str, str]:
    versions = read("s3", "ListObjectVersions", Bucket=bucket, Prefix=key)
    latest = next(
        (
            v.get("VersionId")
            for v in versions.get("Versions", ())
            if v["Key"] == key and v.get("IsLatest")
        ),
        None,
    )
    try:
        block = read("s3", "GetPublicAccessBlock", Bucket=bucket)["PublicAccessBlockConfiguration"]
    except errors.PermanentAwsError as exc:
        if exc.code != NO_BLOCK:
            raise
        block = {}
    try:
        rules = read("s3", "GetBucketEncryption", Bucket=bucket)[
            "ServerSideEncryptionConfiguration"
        ]["Rules"]
    except errors.PermanentAwsError as exc:
        if exc.code != NO_ENCRYPTION:
            raise
        rules = []
    default = (rules[0].get("ApplyServerSideEncryptionByDefault") or {}) if rules else {}
    version = "" if latest in (None, "null") else str(latest)
    on = tuple(f for f in FLAGS if block.get(f) is True)
    return version, on, str(default.get("SSEAlgorithm", "")), str(default.get("KMSMasterKeyID", ""))


def _encryption_problem(settings: Settings, facts: CodeBucket) -> str:
    if not settings.require_encryption:
        return ""
    if not facts.algorithm:
        return f"bucket {facts.bucket} has no default encryption"
    kms = facts.algorithm.startswith("aws:kms")
    if (settings.require_kms or settings.allowed_key_arns) and not kms:
        return f"bucket {facts.bucket} is encrypted with {facts.algorithm}, not aws:kms"
    if settings.allowed_key_arns and facts.kms_key not in settings.allowed_key_arns:
        return f"bucket {facts.bucket} uses key {facts.kms_key or 'aws/s3'}, not an allowed key"
    return ""
