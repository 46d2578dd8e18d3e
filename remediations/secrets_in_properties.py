"""secrets_in_properties: no literal credentials in the application's runtime properties.

AWS's security best practices for Managed Service for Apache Flink: "do not store AWS
credentials in the application" (https://docs.aws.amazon.com/managed-flink/latest/java/
security-best-practices.html); runtime properties (EnvironmentProperties) are readable by
anyone with kinesisanalytics:DescribeApplication and travel in CloudTrail. The rule reports
access key ids, secret-key-shaped values, PEM private keys, URLs and connection strings with a
password, and literal values under secret-like names (`password`, `token`, `apiKey`...).
References (`${...}` placeholders, Secrets Manager / SSM Parameter ARNs) are not literals.

Report only (no fix: rotating and moving a secret is the owner's job); mode `enforce` behaves
as `alert`. A finding carries the group, the key, the kind and a 4-hex-digit fingerprint of
the value, never the value or any part of it (`secret_values`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field, field_validator

from daemon.state import Drift, Observed
from remediations.app_config import property_groups
from remediations.base import APP_EVENTS, Rule, RuleSettings
from remediations.compliant_evidence import configuration
from remediations.grants import Scope, Statement
from remediations.secret_values import KINDS, fingerprint, has_access_key, secret_kinds

SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "credential",
    "privatekey",
    "private_key",
    "accesskey",
)
REFERENCES = (
    r"^\$\{[^}]+\}$",  # ${placeholder} resolved at runtime
    r"^arn:aws[a-z-]*:secretsmanager:",
    r"^arn:aws[a-z-]*:ssm:[^:]*:[^:]*:parameter/",
    r"^\{\{resolve:(secretsmanager|ssm-secure):",  # CloudFormation dynamic references
)


class Settings(RuleSettings):
    allowed_keys: list[str] = Field(
        default_factory=list,
        description="`group/key` globs (or `key` globs, any group) never reported.",
    )
    secret_words: list[str] = Field(
        default_factory=lambda: list(SECRET_WORDS),
        description="A property whose name contains one of these holds a secret if literal.",
    )
    reference_patterns: list[str] = Field(
        default_factory=lambda: list(REFERENCES),
        description="Regular expressions of values that are references, not literal secrets.",
    )

    @field_validator("reference_patterns")
    @classmethod
    def _regexes(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {value!r} ({exc})") from exc
        return values

    def allows(self, group: str, key: str) -> bool:
        return any(
            fnmatchcase(f"{group}/{key}", p) or ("/" not in p and fnmatchcase(key, p))
            for p in self.allowed_keys
        )


class SecretsInProperties(Rule[Settings, None]):
    """Moving a secret to Secrets Manager (and rotating it) is the owner's job: no fix."""

    summary = "Runtime properties hold no literal credentials (report only)."
    severity = "HIGH"
    default_mode = "alert"
    trigger_events = APP_EVENTS

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return property_keys(detail)

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return []  # report only: it writes nothing

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        references = [re.compile(p) for p in settings.reference_patterns]
        drifts: list[Drift] = []
        for group, properties in property_groups(observed.detail):
            values = {str(k): str(v) for k, v in properties.items()}
            access_key = has_access_key(values.values())
            for key, value in sorted(values.items()):
                if settings.allows(group, key):
                    continue
                kinds = list(
                    secret_kinds(
                        key,
                        value,
                        secret_words=settings.secret_words,
                        references=references,
                        group_has_access_key=access_key,
                    )
                )
                if kinds:
                    drifts.append(self._finding(observed, group, key, value, kinds))
        return tuple(drifts)

    def _finding(
        self, observed: Observed, group: str, key: str, value: str, kinds: list[str]
    ) -> Drift:
        mark = fingerprint(value)
        what = " and ".join(KINDS[k] for k in kinds)
        return self.drift(
            observed,
            f"EnvironmentProperties.{group}.{key}",
            f"literal {'+'.join(kinds)} ({mark})",
            "a reference (Secrets Manager ARN or ${...}), not a literal",
            f"property {group}/{key} holds {what} ({mark}); store it in Secrets Manager",
            fixable=False,
        )


def property_keys(detail: Mapping[str, Any]) -> str:
    """Group ids and key counts only: a property value may be a secret."""
    env = configuration(detail).get("EnvironmentPropertyDescriptions") or {}
    groups = env.get("PropertyGroupDescriptions") or ()
    counts = [
        f"{g.get('PropertyGroupId', '')} ({len(g.get('PropertyMap') or {})} keys)" for g in groups
    ]
    return f"property groups {', '.join(counts)}" if counts else "no runtime properties"
