"""Who made a request: the SigV4 credential scope, and the CloudTrail userIdentity of its key.

Keys of sandbox IAM users are IAMUser principals; keys from STS AssumeRole are AssumedRole
sessions; any other key is the principal moto's STS GetCallerIdentity reports for it, so a
daemon can recognise its own events by comparing with GetCallerIdentity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID

_CREDENTIAL = re.compile(r"Credential=([^/\s,]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Scope:
    """The credential scope of a SigV4 Authorization header."""

    access_key_id: str
    region: str
    service: str


def parse_authorization(header: str | None) -> Scope | None:
    if not header:
        return None
    match = _CREDENTIAL.search(header)
    if match is None:
        return None
    return Scope(access_key_id=match[1], region=match[3], service=match[4])


def _iam_user_identity(user: Any, access_key_id: str) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": user.id,
        "arn": user.arn,
        "accountId": user.account_id,
        "accessKeyId": access_key_id,
        "userName": user.name,
    }


def _assumed_role_identity(session: Any, access_key_id: str) -> dict[str, Any]:
    from moto.iam.models import iam_backends

    role_arn: str = session.role_arn
    role_name = role_arn.split("/")[-1]
    role_id = role_name
    for role in iam_backends[session.account_id]["aws"].roles.values():
        if role.arn == role_arn:
            role_id = role.id
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session.session_name}",
        "arn": session.arn,
        "accountId": session.account_id,
        "accessKeyId": access_key_id,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": role_arn,
                "accountId": session.account_id,
                "userName": role_name,
            },
            "attributes": {
                "creationDate": session.access_key.create_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "mfaAuthenticated": "false",
            },
        },
    }


def user_identity(
    access_key_id: str | None, region: str, account_id: str = DEFAULT_ACCOUNT_ID
) -> dict[str, Any]:
    """The CloudTrail userIdentity of a caller using `access_key_id`."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    key = access_key_id or ""
    sts = sts_backends[account_id]["aws"]
    session = sts.get_assumed_role_from_access_key(key)
    if session is not None:
        return _assumed_role_identity(session, key)
    user = iam_backends[account_id]["aws"].get_user_from_access_key_id(key)
    if user is not None:
        return _iam_user_identity(user, key)
    principal_id, arn, account = sts.get_caller_identity(key, region)
    return {
        "type": "IAMUser",
        "principalId": principal_id,
        "arn": arn,
        "accountId": account,
        "accessKeyId": key,
        "userName": arn.rsplit("/", 1)[-1],
    }
