"""encryption: application state (snapshots, checkpoints, running storage) is encrypted with a
customer managed KMS key rather than an AWS owned one.

Regulated teams must be able to audit and revoke the key that protects their data, which an AWS
owned key does not allow. With `key_id` configured the rule requires that key and the fix sets
it with one UpdateApplication; without one it only requires *some* customer managed key, which
the tool cannot choose, so the drift is reported (unfixable). The service rejects the update
unless the key policy allows its service principals, so every drift message says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, field_validator

from daemon.errors import ConfigError
from daemon.state import Call, Drift, Observed
from remediations import compliant_evidence as shown
from remediations.app_config import section, update_application
from remediations.base import APP_EVENTS, Rule, RuleSettings
from remediations.grants import Scope, Statement, allow, application_writes

ENCRYPTION = (
    "ApplicationConfigurationDescription",
    "ApplicationEncryptionConfigurationDescription",
)
CUSTOMER_MANAGED = "CUSTOMER_MANAGED_KEY"
AWS_OWNED = "AWS_OWNED_KEY"
SERVICE_PRINCIPALS = (
    "kinesisanalytics.amazonaws.com",
    "infrastructure.kinesisanalytics.amazonaws.com",
)


class Settings(RuleSettings):
    key_id: str | None = Field(
        None,
        description=(
            "The KMS key every application must use, written as DescribeApplication reports it "
            "(normally the key ARN); the fix sets it. Null accepts any customer managed key and "
            "only reports applications on an AWS owned key."
        ),
    )

    @field_validator("key_id")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be a KMS key id or ARN, or null")
        return value


def key_policy_warning(key_id: str | None) -> str:
    key = key_id or "the key"
    return (
        f"the key policy of {key} must allow the service principals "
        f"{' and '.join(SERVICE_PRINCIPALS)} (and this tool's role kms:DescribeKey and "
        "kms:CreateGrant), or Managed Flink rejects the update"
    )


class Encryption(Rule[Settings, None]):
    summary = "Application data is encrypted with a customer managed KMS key."
    severity = "HIGH"
    # UpdateApplication with a customer managed key has the caller describe the key and create
    # a grant on it for the service.
    write_actions = ("kinesisanalytics:UpdateApplication", "kms:DescribeKey", "kms:CreateGrant")
    trigger_events = APP_EVENTS

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        enc = shown.configuration(detail).get("ApplicationEncryptionConfigurationDescription") or {}
        key = enc.get("KeyId") or ""
        return f"key type {enc.get('KeyType', 'AWS_OWNED_KEY')}" + (
            f", key id {key}" if key else ""
        )

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        keys = {str(s.key_id) for s in places if s.key_id}
        if not keys:  # no key configured: the rule only reports
            return []
        aliases = sorted(k for k in keys if k.startswith("alias/") or ":alias/" in k)
        if aliases:  # KMS authorizes on the key's ARN: an alias cannot scope the grant
            raise ConfigError(
                "", [f"rules.encryption.key_id: give the key's ARN, not {aliases[0]}"]
            )
        arns = sorted({arn for k in keys for arn in _key_arns(k, scope)})
        via = {"kms:ViaService": scope.per_place("kinesisanalytics.{region}.amazonaws.com")}
        return [
            *application_writes(self.write_actions, scope),
            allow(f"{sid}KeyDescribe", ["kms:DescribeKey"], arns, StringEquals=via),
            allow(
                f"{sid}KeyGrant",
                ["kms:CreateGrant"],
                arns,
                StringEquals=via,
                Bool={"kms:GrantIsForAWSResource": "true"},
            ),
        ]

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        current = section(observed.detail, ENCRYPTION)
        # An application created without an encryption configuration uses an AWS owned key.
        key_type = current.get("KeyType", AWS_OWNED)
        fixable = settings.key_id is not None
        if key_type != CUSTOMER_MANAGED:
            action = f"the fix sets {settings.key_id}" if fixable else "no key_id configured"
            return (
                self.drift(
                    observed,
                    "ApplicationEncryptionConfiguration.KeyType",
                    key_type,
                    CUSTOMER_MANAGED,
                    f"application state is encrypted with an AWS owned key; {action}; "
                    + key_policy_warning(settings.key_id),
                    fixable=fixable,
                ),
            )
        if fixable and current.get("KeyId") != settings.key_id:
            return (
                self.drift(
                    observed,
                    "ApplicationEncryptionConfiguration.KeyId",
                    current.get("KeyId"),
                    settings.key_id,
                    f"encrypted with key {current.get('KeyId')}, not {settings.key_id}; "
                    + key_policy_warning(settings.key_id),
                ),
            )
        return ()

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        if not drifts or settings.key_id is None:
            return ()
        app = observed.app
        return (
            update_application(
                app,
                {
                    "ApplicationEncryptionConfigurationUpdate": {
                        "KeyTypeUpdate": CUSTOMER_MANAGED,
                        "KeyIdUpdate": settings.key_id,
                    }
                },
            ),
        )


def _key_arns(key: str, scope: Scope) -> list[str]:
    if key.startswith("arn:"):
        return [key]
    return scope.per_place(f"arn:aws:kms:{{region}}:{{account}}:key/{key}")
