"""Who signed a request, and every policy that applies to it, read from moto's state.

- the caller (IAM user or assumed-role session) and its principal context keys: aws:username,
  aws:userid, aws:PrincipalTag/*, aws:PrincipalAccount, aws:PrincipalType, plus the request's
  aws:CurrentTime / aws:EpochTime (on the sandbox clock), aws:SourceIp, aws:SecureTransport
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html);
- its policies: identity (moto collects them), the role's permissions boundary, the session
  policy and managed session policies passed to AssumeRole (Policy, PolicyArns; moto keeps only
  Policy, so the middleware records PolicyArns here), and the SCPs of its account
  (`sandbox.organizations`);
- the resource-based policy of what it asks for: an SQS queue policy, a KMS key policy.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from moto.iam.access_control import AssumedRoleAccessKey, IAMPolicy

from sandbox import organizations
from sandbox.iam_context import role_tags
from sandbox.iam_decision import Caller, Policies
from sandbox.iam_eval import Request

Policy = Mapping[str, Any]
now: Callable[[], float] = time.time  # the sandbox clock, set by the middleware
_session_policy_arns: dict[str, tuple[str, ...]] = {}
_lock = threading.Lock()


def remember_assume_role(params: Mapping[str, str], response: Mapping[str, Any]) -> None:
    """AssumeRole's PolicyArns (query parameters PolicyArns.member.N.arn), for the session
    whose key the response carries: moto keeps the session's Policy but drops its PolicyArns."""
    key_id = (response.get("Credentials") or {}).get("AccessKeyId")
    arns = tuple(v for k, v in sorted(params.items()) if k.startswith("PolicyArns."))
    if key_id:
        with _lock:
            _session_policy_arns[str(key_id)] = arns


def forget_sessions() -> None:
    with _lock:
        _session_policy_arns.clear()


def _document(policy: Any) -> dict[str, Any]:
    document: dict[str, Any] = IAMPolicy(policy)._policy_json
    return document


def _managed(backend: Any, arn: str) -> dict[str, Any] | None:
    try:
        return _document(backend.get_policy(arn))
    except Exception:  # a deleted policy grants nothing
        return None


def _session(key: AssumedRoleAccessKey) -> Any:
    from moto.sts.models import sts_backends

    for assumed in sts_backends[key.account_id][key.partition].assumed_roles:
        if assumed.access_key_id == key._access_key_id:
            return assumed
    return None


def _role(key: AssumedRoleAccessKey) -> Any:
    try:
        return key.backend.get_role(key._owner_role_name)
    except Exception:  # a session of a role deleted since: only its own policies remain
        return None


def caller_of(key: Any) -> Caller:
    if isinstance(key, AssumedRoleAccessKey):
        role = _role(key)
        own_arn = f"arn:aws:iam::{key.account_id}:role/{key._owner_role_name}"
        role_arn = str(role.arn) if role else own_arn
        return Caller(key.arn, key.account_id, role_arn=role_arn)
    return Caller(key.arn, key.account_id)


def context_of(key: Any) -> dict[str, tuple[str, ...]]:
    moment = now()
    context: dict[str, tuple[str, ...]] = {
        "aws:principalaccount": (key.account_id,),
        "aws:currenttime": (datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),),
        "aws:epochtime": (str(int(moment)),),
        "aws:sourceip": ("127.0.0.1",),  # the sandbox listens on loopback only
        # The daemon talks TLS to AWS; the sandbox speaks HTTP only because it is local.
        "aws:securetransport": ("true",),
    }
    if isinstance(key, AssumedRoleAccessKey):
        role = _role(key)
        context["aws:principaltype"] = ("AssumedRole",)
        role_id = role.id if role else key._owner_role_name
        context["aws:userid"] = (f"{role_id}:{key._session_name}",)
        tags = role_tags(role) if role else {}
    else:
        user = key.backend.get_user(key._owner_user_name)
        context["aws:principaltype"] = ("User",)
        context["aws:username"] = (user.name,)
        context["aws:userid"] = (user.id,)
        tags = {t["Key"]: t["Value"] for t in key.backend.list_user_tags(user.name)}
    context.update({f"aws:principaltag/{k}".lower(): (v,) for k, v in tags.items()})
    return context


def policies_of(key: Any) -> Policies:
    identity = tuple(_document(p) for p in key.collect_policies())
    boundary = session = None
    if isinstance(key, AssumedRoleAccessKey):
        role = _role(key)
        if role is not None and role.permissions_boundary_arn:
            boundary = _managed(key.backend, role.permissions_boundary_arn) or {"Statement": []}
        assumed = _session(key)
        with _lock:
            arns = _session_policy_arns.get(key._access_key_id, ())
        passed = [json.loads(assumed.policy)] if assumed is not None and assumed.policy else []
        passed += [p for p in (_managed(key.backend, arn) for arn in arns) if p is not None]
        session = tuple(passed) if (passed or arns) else None
    levels = organizations.scp_levels(key.account_id)
    return Policies(identity=identity, boundary=boundary, session=session, scp_levels=levels)


def resource_policy(request: Request) -> tuple[Policy | None, str | None, bool]:
    """(the resource-based policy, the resource's account, whether it is required) for the
    resources that have one here: SQS queues, KMS keys (a key policy is always required:
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html)."""
    parts = request.resource.split(":", 5)
    if len(parts) != 6:
        return None, None, False
    service, region, account, name = parts[2], parts[3], parts[4], parts[5]
    if service == "sqs":
        return queue_policy(account, region, name), account, False
    if service == "kms":
        from moto.kms.models import kms_backends

        try:
            text = kms_backends[account][region].get_key_policy(name.removeprefix("key/"))
        except Exception:  # an unknown key: the service answers NotFound later
            return None, account, False
        return json.loads(text), account, True
    return None, None, False


def queue_policy(account: str, region: str, name: str) -> Policy | None:
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account][region].queues.get(name)
    text = getattr(queue, "policy", None) if queue is not None else None
    return json.loads(text) if text else None
