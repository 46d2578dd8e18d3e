"""IAM enforcement: moto's switch and signature checks, our evaluation where it matters.

moto checks requests when `settings.INITIAL_NO_AUTH_ACTION_COUNT` (env var of the same name)
is below the number of requests it has served: 0 means from the first request on. Each
request's SigV4 signature is verified against the secret of an IAM user's access key (or an
STS session), and the principal's inline, attached and group policies are collected
(moto.iam.access_control.IAMRequest). The decision:

- IAM, CloudWatch Logs, SNS, SQS, Security Hub and DynamoDB (`EVALUATED`): `sandbox.iam_decision` on
  the real resource ARN with condition context (`sandbox.iam_context`, `sandbox.iam_principal`):
  AWS's evaluation logic over identity policies, SCPs, the resource's own policy (SQS queue,
  KMS key), the role's permissions boundary and session policies; moto's own check
  (IAMRequest.check_action_permitted) is replaced for these services only;
- kinesisanalyticsv2 (our backend): `authorize_flink`, the same evaluation on the
  application's ARN with its tags, plus the KMS calls Managed Flink makes with the caller's
  permissions (kms:DescribeKey, kms:CreateGrant, kms:ViaService) when a call sets a customer
  managed key; answered like AWS (AccessDeniedException, UnrecognizedClientException,
  InvalidSignatureException);
- every other service: moto's evaluation (resource "*" for most, conditions mostly ignored).

With enforcement on, unknown keys are rejected, so the sandbox's own bootstrap signs with the
keys of an IAM user `sandbox-admin` (Allow * on *), created directly in moto's backend.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import (
    AccessDeniedError,
    InvalidClientTokenIdError,
    JsonRESTError,
    SignatureDoesNotMatchError,
    _RESTError,
)
from moto.iam.access_control import IAMRequest
from werkzeug.datastructures import EnvironHeaders

from sandbox import iam_context, iam_decision, iam_principal
from sandbox.flink.errors import FlinkApiError
from sandbox.iam_decision import Verdict
from sandbox.iam_eval import Request, UnsupportedCondition

log = logging.getLogger("sandbox")
EVALUATED = frozenset({"dynamodb", "iam", "logs", "securityhub", "sns", "sqs"})
_MOTO_CHECK = IAMRequest.check_action_permitted

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
    IAMRequest.check_action_permitted = _check_action_permitted  # type: ignore[method-assign,assignment]


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


def _params(iam_request: IAMRequest) -> dict[str, Any]:
    body = iam_request._body or b""
    raw = body.decode() if isinstance(body, bytes) else str(body)
    if iam_request._headers.get("X-Amz-Target") or raw.lstrip().startswith("{"):  # JSON APIs
        loaded = json.loads(raw or "{}")
        return loaded if isinstance(loaded, dict) else {}
    query = urlsplit(iam_request._path).query
    parsed = {k: v[0] if isinstance(v, list) and v else v for k, v in iam_request._data.items()}
    return parsed | dict(parse_qsl(query)) | dict(parse_qsl(raw))


def decide(iam_request: IAMRequest, *requests: Request) -> tuple[Request, Verdict] | None:
    """The first of `requests` AWS's evaluation logic refuses (and why), or None: identity
    policies, permissions boundary, session policies, SCPs and the resource's own policy."""
    key = iam_request._access_key
    caller = iam_principal.caller_of(key)
    policies = iam_principal.policies_of(key)
    # aws:PrincipalArn of a role session is the role's ARN, not the session's
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
    base = {
        **iam_context.base_context(iam_request._region, caller.role_arn or caller.arn),
        **iam_principal.context_of(key),
    }
    for request in requests:
        full = replace(request, context={**base, **request.context})
        resource, owner, required = iam_principal.resource_policy(full)
        applying = replace(
            policies, resource=resource, resource_account=owner, resource_required=required
        )
        try:
            verdict = iam_decision.decide(applying, caller, full)
        except UnsupportedCondition as exc:  # fail closed, loudly
            log.warning("sandbox_iam_condition_unsupported operator=%s", exc)
            verdict = Verdict("implicit_deny", "identity-based policy")
        if verdict.decision != "allow":
            return full, verdict
    return None


def _check_action_permitted(self: IAMRequest, resource: str) -> None:
    """moto's IAMRequest.check_action_permitted, decided by iam_eval for EVALUATED services."""
    if self._service not in EVALUATED or self._action == "sts:GetCallerIdentity":
        _MOTO_CHECK(self, resource)
        return
    params = _params(self)
    requests: list[Request] = []
    if self._service == "iam":
        request = iam_context.iam_request(self._action, params, self.account_id, self.backend)
    elif self._service == "logs":
        request = iam_context.logs_request(self._action, params, self._region, self.account_id)
    elif self._service == "sqs":
        request = iam_context.sqs_request(self._action, params, self._region, self.account_id)
    elif self._service == "securityhub":
        requests = iam_context.securityhub_requests(
            self._action, params, self._region, self.account_id
        )
        request = requests.pop(0)
    elif self._service == "dynamodb":
        requests = iam_context.dynamodb_requests(
            self._action, params, self._region, self.account_id
        )
        request = requests.pop(0)
    else:
        request = iam_context.sns_request(self._action, params)
    refused = decide(self, request, *requests)
    if refused is not None:
        denied, verdict = refused
        if self._service == "sns":  # SNS names its 403 differently
            raise _SnsAuthorizationError(self._access_key.arn, self._action)
        if self._service in ("securityhub", "dynamodb"):  # JSON APIs: AccessDeniedException
            raise _JsonAccessDenied(self._access_key.arn, self._action)
        raise _AccessDenied(self._access_key.arn, denied, verdict)


class _AccessDenied(AccessDeniedError):
    """AWS's message names the resource and which kind of policy refused."""

    def __init__(self, user_arn: str, denied: Request, verdict: Verdict) -> None:
        _RESTError.__init__(
            self,
            "AccessDenied",
            f"User: {user_arn} is not authorized to perform: {denied.action} on resource: "
            f"{denied.resource} {verdict.explain(denied.action)}",
        )


class _SnsAuthorizationError(_RESTError):
    code = 403

    def __init__(self, user_arn: str, action: str) -> None:
        message = f"User: {user_arn} is not authorized to perform: {action}"
        super().__init__("AuthorizationError", message)


class _JsonAccessDenied(JsonRESTError):
    code = 403

    def __init__(self, user_arn: str, action: str) -> None:
        message = f"User: {user_arn} is not authorized to perform: {action}"
        super().__init__("AccessDeniedException", message)


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
    tags_of: Callable[[str], Mapping[str, str]] = lambda _arn: {},
) -> None:
    """Raise the FlinkApiError AWS would answer when the caller may not call `operation`
    (`tags_of(arn)`: the application's tags, for aws:ResourceTag conditions)."""
    if not enforcing():
        return
    if not environ.get("HTTP_AUTHORIZATION"):
        raise FlinkApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
    resource = flink_resource(request, region, account_id)
    path = environ.get("RAW_URI") or environ.get("PATH_INFO") or "/"
    query = environ.get("QUERY_STRING", "")
    try:
        iam_request = IAMRequest(
            account_id=account_id,
            method=environ.get("REQUEST_METHOD", "POST"),
            path=path + (f"?{query}" if query else ""),
            data={},
            body=body,
            headers=EnvironHeaders(environ),  # type: ignore[arg-type]
            action=operation,
        )
        iam_request.check_signature()
    except InvalidClientTokenIdError as exc:
        raise FlinkApiError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        ) from exc
    except SignatureDoesNotMatchError as exc:
        raise FlinkApiError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        ) from exc
    tags = tags_of(resource) if resource != "*" else {}
    requests = [iam_context.flink_request(operation, request, resource, tags)]
    key = iam_context.flink_key(request)
    if key:
        requests += iam_context.kms_requests_by_flink(key, region, account_id)
    refused = decide(iam_request, *requests)
    if refused is not None:
        denied, verdict = refused
        raise FlinkApiError(
            "AccessDeniedException",
            f"User: {iam_request._access_key.arn} is not authorized to perform: "
            f"{denied.action} on resource: {denied.resource} {verdict.explain(denied.action)}",
        )
