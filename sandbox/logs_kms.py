"""CloudWatch Logs AssociateKmsKey / DisassociateKmsKey, which moto 5.2.5 does not serve (it
keeps a log group's `kmsKeyId` only from CreateLogGroup and shows it in DescribeLogGroups).

As AWS documents it:
- "If you attempt to associate a KMS key with a log group but the KMS key does not exist or the
  KMS key is disabled, you receive an InvalidParameterException error."
  https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateKmsKey.html
- The key policy must let the Region's service principal `logs.<region>.amazonaws.com` use the
  key (kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey*, kms:Describe*); the
  condition `kms:EncryptionContext:aws:logs:arn` (ArnLike/ArnEquals) limits it to the log
  groups it names. Without that grant the association fails with InvalidParameterException
  ("... is not allowed to be used with Arn ..."), as AWS answers.
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
- A missing log group: ResourceNotFoundException. DisassociateKmsKey removes the key.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

CONTEXT_KEY = "kms:encryptioncontext:aws:logs:arn"
NEEDED = ("kms:encrypt", "kms:generatedatakey")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(action: str, granted: list[str]) -> bool:
    return any(fnmatchcase(action, g.lower()) for g in granted)


def _condition_allows(condition: dict[str, Any], group_arn: str) -> bool:
    """Only the encryption-context condition is modelled; other keys are not in the context."""
    for operator, pairs in condition.items():
        for key, values in pairs.items():
            if key.lower() != CONTEXT_KEY:
                return False
            patterns = [str(v) for v in _as_list(values)]
            if operator in ("ArnLike", "StringLike"):
                ok = any(fnmatchcase(group_arn, p) for p in patterns)
            elif operator in ("ArnEquals", "StringEquals"):
                ok = group_arn in patterns
            else:
                return False
            if not ok:
                return False
    return True


def key_allows_logs(policy: str, region: str, group_arn: str) -> bool:
    """An Allow for `logs.<region>.amazonaws.com` of encrypt and data-key generation whose
    condition (if any) admits `group_arn`."""
    service = f"logs.{region}.amazonaws.com"
    statements = _as_list(json.loads(policy).get("Statement", []))
    for statement in statements:
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        granted = [str(a).lower() for a in _as_list(statement.get("Action", []))]
        if (
            statement.get("Effect") == "Allow"
            and service in services
            and all(_grants(a, granted) for a in NEEDED)
            and _condition_allows(statement.get("Condition") or {}, group_arn)
        ):
            return True
    return False


def install() -> None:
    from moto.kms.models import kms_backends
    from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
    from moto.logs.responses import LogsResponse

    def associate_kms_key(self: Any) -> str:
        name = self._get_param("logGroupName")
        key_id = self._get_param("kmsKeyId")
        group = self.logs_backend.groups.get(name)
        if group is None:
            raise ResourceNotFoundException("The specified log group does not exist.")
        group_arn = f"arn:aws:logs:{self.region}:{self.current_account}:log-group:{name}"
        kms = kms_backends[self.current_account][self.region]
        try:
            key = kms.keys[kms.any_id_to_key_id(key_id)]
        except Exception:  # moto raises KeyError or its own NotFound for unknown ids
            key = None
        if (
            key is None
            or key.key_state != "Enabled"
            or not key_allows_logs(str(key.policy), self.region, group_arn)
        ):
            raise InvalidParameterException(
                f"The specified KMS key does not exist or is not allowed to be used with "
                f"Arn '{group_arn}'"
            )
        group.kms_key_id = key.arn
        return ""

    def disassociate_kms_key(self: Any) -> str:
        group = self.logs_backend.groups.get(self._get_param("logGroupName"))
        if group is None:
            raise ResourceNotFoundException("The specified log group does not exist.")
        group.kms_key_id = None
        return ""

    LogsResponse.associate_kms_key = associate_kms_key  # type: ignore[attr-defined]
    LogsResponse.disassociate_kms_key = disassociate_kms_key  # type: ignore[attr-defined]
