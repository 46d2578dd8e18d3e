"""IAM enforcement: moto's own, switched on for moto's services and applied to our Flink API.

moto checks identity policies when `settings.INITIAL_NO_AUTH_ACTION_COUNT` (env var of the same
name) is below the number of requests it has served: 0 means from the first request on. Each
request's SigV4 signature is verified against the secret of an IAM user's access key (or an
STS session), and `<service>:<Action>` is evaluated against that principal's inline, attached
and group policies (moto.iam.access_control.IAMRequest / IAMPolicy). kinesisanalyticsv2 is
answered by our backend, not moto's, so `authorize_flink` runs the same moto code for
`kinesisanalytics:<Operation>` on the application's ARN and answers like AWS
(AccessDeniedException, UnrecognizedClientException, InvalidSignatureException).

With enforcement on, unknown keys are rejected, so the sandbox's own bootstrap signs with the
keys of an IAM user `sandbox-admin` (Allow * on *), created directly in moto's backend.
"""

from __future__ import annotations

import json
import math
from typing import Any

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import (
    AccessDeniedError,
    InvalidClientTokenIdError,
    SignatureDoesNotMatchError,
)
from werkzeug.datastructures import EnvironHeaders

from sandbox.flink.errors import FlinkApiError

ADMIN_USER = "sandbox-admin"
# (access key id, secret) pairs the bootstrap signs with: demo.py's and eventbridge.py's.
ADMIN_KEYS = (("sandbox-admin", "sandbox"), ("sandbox", "sandbox"))
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def enforcing() -> bool:
    limit: float = settings.INITIAL_NO_AUTH_ACTION_COUNT
    return limit < math.inf


def set_enforcement(on: bool) -> None:
    """Check every request from now on (on), or none (off); process-wide, like moto's state."""
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")
    ActionAuthenticatorMixin.request_count = 0


def ensure_admin(account_id: str) -> dict[str, str]:
    """The bootstrap user `sandbox-admin` with the keys in ADMIN_KEYS (created when missing)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["aws"]
    if ADMIN_USER not in backend.users:
        backend.create_user("us-east-1", ADMIN_USER)
        backend.put_user_policy(ADMIN_USER, "AdministratorAccess", json.dumps(ADMIN_POLICY))
        for key_id, secret in ADMIN_KEYS:
            key = backend.create_access_key(ADMIN_USER)
            key.access_key_id, key.secret_access_key = key_id, secret
    user = backend.get_user(ADMIN_USER)
    return {
        "user_name": ADMIN_USER,
        "arn": user.arn,
        "aws_access_key_id": ADMIN_KEYS[0][0],
        "aws_secret_access_key": ADMIN_KEYS[0][1],
    }


class _FlinkRequest(ActionAuthenticatorMixin):
    """What moto's authenticator reads from a request, for one of our kinesisanalyticsv2 calls."""

    def __init__(
        self, environ: dict[str, Any], body: bytes, operation: str, account_id: str
    ) -> None:
        self.headers = EnvironHeaders(environ)
        self.method = environ.get("REQUEST_METHOD", "POST")
        self.raw_path = environ.get("RAW_URI") or environ.get("PATH_INFO") or "/"
        query = environ.get("QUERY_STRING", "")
        self.uri = f"http://{self.headers.get('Host', 'localhost')}{self.raw_path}" + (
            f"?{query}" if query else ""
        )
        self.data: dict[str, Any] = {}
        self.raw_body = body
        self.current_account = account_id
        self._operation = operation

    def _get_action(self) -> str:
        return self._operation


def flink_resource(request: dict[str, Any], region: str, account_id: str) -> str:
    """The ARN IAM evaluates a kinesisanalyticsv2 call on (`*` for ListApplications)."""
    if isinstance(request.get("ResourceARN"), str):
        return str(request["ResourceARN"])
    if isinstance(request.get("ApplicationName"), str):
        name = request["ApplicationName"]
        return f"arn:aws:kinesisanalytics:{region}:{account_id}:application/{name}"
    return "*"


def authorize_flink(
    environ: dict[str, Any],
    body: bytes,
    operation: str,
    request: dict[str, Any],
    region: str,
    account_id: str,
) -> None:
    """Raise the FlinkApiError AWS would answer when the caller may not call `operation`."""
    if not enforcing():
        return
    if not environ.get("HTTP_AUTHORIZATION"):
        raise FlinkApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
    resource = flink_resource(request, region, account_id)
    try:
        _FlinkRequest(
            environ, body, operation, account_id
        )._authenticate_and_authorize_normal_action(resource)
    except AccessDeniedError as exc:
        raise FlinkApiError(
            "AccessDeniedException",
            f"{exc.message} on resource: {resource} because no identity-based policy allows "
            f"the kinesisanalytics:{operation} action",
        ) from exc
    except InvalidClientTokenIdError as exc:
        raise FlinkApiError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        ) from exc
    except SignatureDoesNotMatchError as exc:
        raise FlinkApiError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        ) from exc
