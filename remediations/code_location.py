"""code_location: the application code comes from an allowed S3 bucket (report only).

Code from an arbitrary bucket bypasses the build pipeline that signs and scans it. Moving the
code is the owner's job (it needs a build in the allowed bucket), so the rule only reports.
Inline code (PLAINTEXT, as SQL and Studio apps use) has no bucket: it is reported unless
`allow_inline_code` is set. With no bucket configured the rule checks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field, field_validator

from daemon.state import Drift, Observed
from remediations import compliant_evidence as shown
from remediations.base import ANY_APPLICATION, APP_EVENTS, Rule, RuleSettings
from remediations.grants import Scope, Statement

CODE = ("ApplicationConfigurationDescription", "ApplicationCodeConfigurationDescription")
S3_ARN_PREFIX = ":s3:::"


class Settings(RuleSettings):
    allowed_buckets: list[str] = Field(
        default_factory=list,
        description=(
            "Bucket names or globs (e.g. 'acme-flink-artifacts-*'; a bucket ARN is accepted "
            "too). Empty turns the check off."
        ),
    )
    allow_inline_code: bool = Field(
        False, description="Accept code given inline (PLAINTEXT) instead of from S3."
    )

    @field_validator("allowed_buckets")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        names = [bucket_name(v) for v in values]
        if any(not n or "/" in n for n in names):
            raise ValueError("entries are bucket names, globs or bucket ARNs, without a key")
        return names

    def allows(self, bucket_arn: str) -> bool:
        name = bucket_name(bucket_arn)
        return any(fnmatchcase(name, pattern) for pattern in self.allowed_buckets)


def bucket_name(bucket: str) -> str:
    """`arn:aws:s3:::name` -> `name`; a plain name is returned as is."""
    return bucket.split(S3_ARN_PREFIX, 1)[1] if S3_ARN_PREFIX in bucket else bucket


def code_origin(detail: Mapping[str, Any]) -> tuple[str, str] | None:
    """("s3", bucket ARN + key) or ("inline", "") for the app's code; None when not described."""
    node: Any = detail
    for key in CODE:
        node = node.get(key) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        return None
    content = node.get("CodeContentDescription") or {}
    location = content.get("S3ApplicationCodeLocationDescription")
    if isinstance(location, Mapping) and location.get("BucketARN"):
        return "s3", str(location["BucketARN"])
    return "inline", ""


class CodeLocation(Rule[Settings, None]):
    """Moving the code needs a build in the allowed bucket, the owner's job: no fix."""

    summary = "Application code comes from an allowed S3 bucket (report only)."
    severity = "MEDIUM"
    default_mode = "alert"
    trigger_events = APP_EVENTS
    applies_to = ANY_APPLICATION  # inline (SQL, Studio) code is judged too

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return shown.code(detail)

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return []  # report only: it writes nothing

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        origin = code_origin(observed.detail)
        if not settings.allowed_buckets or origin is None:
            return ()
        kind, bucket = origin
        if kind == "inline" and settings.allow_inline_code:
            return ()
        if kind == "s3" and settings.allows(bucket):
            return ()
        where = "inline code" if kind == "inline" else f"bucket {bucket_name(bucket)}"
        return (
            self.drift(
                observed,
                "ApplicationCodeConfiguration.S3ContentLocation.BucketARN",
                bucket or None,
                tuple(settings.allowed_buckets),
                f"code comes from {where}, not from an allowed bucket "
                f"({', '.join(settings.allowed_buckets)})",
                fixable=False,
            ),
        )
