"""Error answers in the wire format of the protocol the request used, with the codes AWS uses.

- JSON (an X-Amz-Target header): `{"__type": code, "message": ...}` and x-amzn-ErrorType;
  throttle ThrottlingException, 503 ServiceUnavailableException, 500 InternalFailure.
- EC2 (service ec2): `<Response><Errors><Error><Code>`; RequestLimitExceeded, Unavailable,
  InternalError.
- query (an Action= parameter: IAM, STS, SQS query): `<ErrorResponse><Error><Code>`;
  Throttling, ServiceUnavailable, InternalFailure.
- anything else (REST): as JSON.
- SQS in either protocol: RequestThrottled and ServiceUnavailable (its documented codes).
- denied (the `deny` kind): HTTP 400 AccessDeniedException (JSON), AccessDenied (query),
  UnauthorizedOperation (EC2), as a missing IAM permission answers.

Throttling answers HTTP 400 as AWS does; botocore classifies every one of these codes as
throttling and 500/503 as transient, so with retries on it would retry them all.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

JSON, EC2, QUERY, REST = "json", "ec2", "query", "rest"
_THROTTLE = {JSON: "ThrottlingException", EC2: "RequestLimitExceeded", QUERY: "Throttling"}
_UNAVAILABLE = {
    JSON: "ServiceUnavailableException",
    EC2: "Unavailable",
    QUERY: "ServiceUnavailable",
}
_INTERNAL = {JSON: "InternalFailure", EC2: "InternalError", QUERY: "InternalFailure"}
_DENIED = {JSON: "AccessDeniedException", EC2: "UnauthorizedOperation", QUERY: "AccessDenied"}
_MESSAGES = {
    "throttle": "Rate exceeded",
    "unavailable": "Service unavailable (injected by the sandbox's fault layer).",
    "internal": "We encountered an internal error. Please try again.",
    "denied": "User is not authorized to perform this action (injected by the fault layer).",
}
_STATUS = {"throttle": 400, "unavailable": 503, "internal": 500, "denied": 400}


@dataclass(frozen=True)
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def protocol_of(service: str, target: str, action: str | None) -> str:
    if target:
        return JSON
    if service == "ec2":
        return EC2
    return QUERY if action else REST


def error_code(what: str, service: str, protocol: str) -> str:
    """The code AWS answers for `what` (throttle, unavailable, internal, denied) here."""
    tables = {"throttle": _THROTTLE, "unavailable": _UNAVAILABLE, "internal": _INTERNAL}
    table = {**tables, "denied": _DENIED}[what]
    if service == "sqs" and what == "throttle":
        return "RequestThrottled"
    if service == "sqs" and what == "unavailable":
        return "ServiceUnavailable"
    return table.get(protocol, table[JSON])


def error_reply(what: str, service: str, protocol: str, content_type: str = "") -> Reply:
    code, message, status = error_code(what, service, protocol), _MESSAGES[what], _STATUS[what]
    request_id = str(uuid.uuid4())
    if protocol == EC2:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}'
            f"</Code><Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        ).encode()
        return Reply(status, (("Content-Type", "text/xml"),), body)
    if protocol == QUERY:
        fault = "Sender" if status < 500 else "Receiver"
        body = (
            f"<ErrorResponse><Error><Type>{fault}</Type><Code>{code}</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return Reply(status, (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)), body)
    headers = [
        ("Content-Type", content_type or "application/x-amz-json-1.1"),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", code),
    ]
    if service == "sqs":  # awsQueryCompatible: botocore takes the code from this header
        headers.append(("x-amzn-query-error", f"{code};{'Sender' if status < 500 else 'Receiver'}"))
    return Reply(status, tuple(headers), json.dumps({"__type": code, "message": message}).encode())
