"""A WSGI layer in front of the whole sandbox that makes some AWS requests fail on purpose.

Requests it fails (throttle, unavailable, outage, reset) never reach the sandbox, so they are
absent from /_sandbox/calls; requests it delays (hang) or whose reply it loses (lost_reply) are
served, so they are in the call record. /_sandbox/* and /moto-api are never faulted.

`lost_reply` with reply "reset" (the default) serves the request, then shuts the connection down
without an HTTP response: botocore raises ConnectionClosedError, an HTTPClientError that its
standard and legacy retry modes treat as transient. With reply "error" the client gets HTTP
500 InternalFailure instead (also transient for botocore). `reset` drops the connection the same
way without serving the request; it stands in for refused connections, which a WSGI app cannot
produce (botocore would raise EndpointConnectionError for those; both are retryable).
"""

from __future__ import annotations

import io
import json
import logging
import socket
import struct
from collections.abc import Callable, Iterable
from typing import Any

from sandbox import wire
from sandbox.calls import is_mutating
from sandbox.faults.injector import FaultInjector
from sandbox.faults.replies import Reply, error_reply, protocol_of
from sandbox.faults.rules import FaultRule, FaultRuleError, parse_rules
from sandbox.identity import parse_authorization

log = logging.getLogger("sandbox")
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CONTROL_PATH = "/_sandbox/faults"
_REASONS = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed", 500: "Internal Server Error"}
_REASONS[503] = "Service Unavailable"


class FaultLayer:
    def __init__(self, app: WsgiApp, injector: FaultInjector | None = None) -> None:
        self.app = app
        self.injector = injector or FaultInjector()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") == CONTROL_PATH:
            return self._control(environ, start_response)
        if path.startswith(("/_sandbox/", "/moto-api")):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        scope = parse_authorization(environ.get("HTTP_AUTHORIZATION"))
        service = scope.service if scope else "unknown"
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        action = (
            None
            if target
            else wire.query_params(body, environ.get("QUERY_STRING", "")).get("Action")
        )
        method = environ.get("REQUEST_METHOD", "GET")
        if target or action:
            operation = target.rsplit(".", 1)[-1] if target else str(action)
            mutating = is_mutating(operation)
        else:
            operation, mutating = f"{method} {path}", method not in ("GET", "HEAD")
        rule = self.injector.decide(service, operation, mutating)
        if rule is None:
            return self.app(environ, start_response)
        protocol = protocol_of(service, target, action)
        content_type = environ.get("CONTENT_TYPE", "") if target else ""
        return self._inject(rule, environ, start_response, service, protocol, content_type)

    def _inject(
        self,
        rule: FaultRule,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        service: str,
        protocol: str,
        content_type: str,
    ) -> Iterable[bytes]:
        if rule.kind in ("throttle", "deny"):
            what = "throttle" if rule.kind == "throttle" else "denied"
            return _send(start_response, error_reply(what, service, protocol, content_type))
        if rule.kind in ("unavailable", "outage"):
            reply = error_reply("unavailable", service, protocol, content_type)
            return _send(start_response, reply)
        if rule.kind == "hang":
            self.injector.hang(rule.seconds or 0.0)
            return self.app(environ, start_response)
        if rule.kind == "lost_reply":
            _serve_and_discard(self.app, environ)
            if rule.reply == "error":
                reply = error_reply("internal", service, protocol, content_type)
                return _send(start_response, reply)
        return _drop_connection(environ, start_response, service, protocol, content_type)

    def _control(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        status, payload = 200, None
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            try:
                rules = parse_rules(json.loads(raw or b"[]"), self.injector.clock())
            except (ValueError, FaultRuleError) as exc:
                status, payload = 400, {"error": str(exc)}
            else:
                self.injector.install(rules)
        elif method == "DELETE":
            self.injector.clear()
        elif method != "GET":
            status, payload = 405, {"error": f"{method} {CONTROL_PATH}: use GET, POST or DELETE"}
        body = json.dumps(payload if payload is not None else self.injector.report()).encode()
        return _send(start_response, Reply(status, (("Content-Type", "application/json"),), body))


def _send(start_response: Callable[..., Any], reply: Reply) -> list[bytes]:
    reason = _REASONS.get(reply.status, "Error")
    start_response(
        f"{reply.status} {reason}", [*reply.headers, ("Content-Length", str(len(reply.body)))]
    )
    return [reply.body]


def _serve_and_discard(app: WsgiApp, environ: dict[str, Any]) -> None:
    """Let the sandbox serve the request completely; its answer goes nowhere."""

    def ignore(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return lambda data: None

    result = app(environ, ignore)
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def _drop_connection(
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    service: str,
    protocol: str,
    content_type: str,
) -> Iterable[bytes]:
    """Close the connection without an HTTP answer (HTTP 500 where the server has no socket)."""
    connection = environ.get("werkzeug.socket")
    if not isinstance(connection, socket.socket):
        return _send(start_response, error_reply("internal", service, protocol, content_type))
    try:
        # Linger 0: the close that follows sends RST, the client sees the reply lost.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        log.debug("sandbox_fault_connection_already_closed")
    # The server's attempt to write this answer fails on the shut socket (a dropped connection).
    start_response("500 Internal Server Error", [("Content-Length", "0")])
    return [b""]
