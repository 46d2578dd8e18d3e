"""JSON-protocol error bodies where moto answers a JSON request with an XML error.

moto renders its authentication and authorization errors (AccessDenied, InvalidClientTokenId,
SignatureDoesNotMatch) as query-protocol XML whatever the protocol of the request. botocore
cannot parse that for a JSON service (SQS, CloudWatch Logs, EventBridge...) and reports the HTTP
status as the error code. This layer, between SandboxMiddleware and moto, rewrites such answers
the way AWS sends them: `{"__type": ..., "message": ...}` with the JSON services' code, and for
SQS (awsQueryCompatible) the query code in x-amzn-query-error, which botocore prefers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from sandbox import wire

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_JSON_CODES = {
    "AccessDenied": "AccessDeniedException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
}


class JsonErrors:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target:
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return lambda data: None

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = captured["status"], captured["headers"]
        if int(status.split()[0]) >= 400 and body.lstrip().startswith(b"<"):
            headers, body = _as_json(target, headers, body)
        start_response(status, headers)
        return [body]


def _as_json(
    target: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[list[tuple[str, str]], bytes]:
    code, message = wire.error_of(body, {})
    json_code = _JSON_CODES.get(code, code)
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() not in ("content-type", "content-length", "x-amzn-errortype")
    ]
    out = json.dumps({"__type": json_code, "message": message}).encode()
    kept += [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-ErrorType", json_code),
        ("Content-Length", str(len(out))),
    ]
    if target.startswith("AmazonSQS."):
        kept.append(("x-amzn-query-error", f"{code};Sender"))
    return kept, out
