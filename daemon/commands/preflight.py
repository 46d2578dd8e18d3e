"""The first AWS call of a command, made once without retries, so that missing credentials or an
unreachable endpoint give one clear line at once instead of retries of log noise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from daemon import errors
from daemon.aws import Aws

_NO_CREDENTIALS = frozenset(
    {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}
)
_UNREACHABLE = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
    }
)


def caller_identity(region: str) -> Mapping[str, Any] | str:
    """GetCallerIdentity's answer; a one-line reason when AWS cannot be used; {} when the call
    failed in a way worth retrying (throttling, 5xx), which the caller's retrying path handles."""
    try:
        return Aws(region, max_attempts=1).call("sts", "GetCallerIdentity")
    except errors.PermanentAwsError as exc:
        return f"AWS refused the credentials in {region}: {exc}"
    except errors.RetryableAwsError as exc:
        if exc.code in _NO_CREDENTIALS:
            return (
                "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
                f"AWS_SECRET_ACCESS_KEY, or use IRSA / EKS Pod Identity): {exc.code}"
            )
        if exc.code in _UNREACHABLE:
            return f"cannot reach AWS STS in {region} ({exc.code}): {str(exc).split(': ', 2)[-1]}"
        return {}
