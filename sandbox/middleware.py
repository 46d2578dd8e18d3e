"""The WSGI layer in front of moto's server app.

- kinesisanalyticsv2 (X-Amz-Target KinesisAnalytics_20180523.*) is answered by our own backend;
- everything else passes through to moto unchanged;
- every call is written to the call log, and watched mutating calls (Flink, IAM role, EC2 route)
  become CloudTrail envelopes routed through the sandbox's EventBridge rules;
- the account of a call is the account of its access key, as in moto (an assumed role's key
  belongs to the role's account): Flink apps, call records and CloudTrail records
  (recipientAccountId, the account's own buses) are per account;
- /_sandbox/* is the control API (see sandbox/README.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.securityhub.models import securityhub_backends

from sandbox import (
    cloudtrail,
    dynamodb_atomic,
    iam_principal,
    moto_sqs,
    securityhub_updates,
    tagging,
    wire,
)
from sandbox.audit_manager import AuditManager
from sandbox.calls import CallLog, CallRecord, is_mutating
from sandbox.config_rules import OPERATIONS as CONFIG_MODELLED
from sandbox.config_rules import ConfigRules
from sandbox.delivery import Deliveries
from sandbox.enforce_iam import authorize_flink
from sandbox.eventbridge import deliver, routes
from sandbox.flink.backend import FlinkBackend
from sandbox.flink.clock import SandboxClock
from sandbox.flink.errors import FlinkApiError
from sandbox.flink.moto_lookups import MotoLookups
from sandbox.flink.operations import READ_ONLY, handle
from sandbox.iam_lag import IamReadLag
from sandbox.identity import Scope, parse_authorization, user_identity
from sandbox.scheduler import Schedules

log = logging.getLogger("sandbox")
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
FLINK_TARGET_PREFIX = "KinesisAnalytics_20180523."
CONFIG_TARGET_PREFIX = "StarlingDoveService."
AdminHandler = Callable[[str, str, str, bytes], tuple[int, dict[str, Any]]]


class SandboxMiddleware:
    def __init__(
        self, moto_app: WsgiApp, account_id: str, region: str, transition_seconds: float
    ) -> None:
        self.moto_app = moto_app
        self.account_id = account_id
        self.region = region
        self.transition_seconds = transition_seconds
        self.max_applications: int | None = None  # None: the service's default quota
        self.calls = CallLog()
        self.admin: AdminHandler | None = None
        self._flink: dict[tuple[str, str], FlinkBackend] = {}
        self._lock = threading.Lock()
        self.clock = SandboxClock()  # shared by every Region's Flink backend
        iam_principal.now = self.clock.now  # aws:CurrentTime under --enforce-iam
        self.deliveries = Deliveries(self.clock.now, deliver)
        self.schedules = Schedules(self.clock.now)  # EventBridge Scheduler, fired
        self.iam_lag = IamReadLag(self.clock.now)
        self.endpoint_url = ""  # set by the server once it listens (config rules call back)
        self.config_rules = ConfigRules(lambda: self.endpoint_url, self.clock.now)
        self.audit_manager = AuditManager(self.clock.now)  # moto has none

    def flink_backend(self, region: str, account_id: str | None = None) -> FlinkBackend:
        account = account_id or self.account_id
        with self._lock:
            backend = self._flink.get((account, region))
            if backend is None:
                backend = FlinkBackend(
                    account,
                    region,
                    MotoLookups(account, region),
                    self.transition_seconds,
                    clock=self.clock.now,
                )
                if self.max_applications is not None:
                    backend.max_applications = self.max_applications
                self._flink[(account, region)] = backend
            return backend

    def account_of(self, scope: Scope | None) -> str:
        """The account a request acts in: its access key's (moto's own rule)."""
        from moto.iam.models import get_account_id_from

        if scope is None:
            return self.account_id
        account = get_account_id_from(scope.access_key_id)
        return self.account_id if account == DEFAULT_ACCOUNT_ID else account

    def set_transition_seconds(self, seconds: float) -> None:
        with self._lock:
            self.transition_seconds = seconds
            for backend in self._flink.values():
                backend.transition_seconds = seconds

    def set_max_applications(self, limit: int) -> None:
        with self._lock:
            self.max_applications = limit
            for backend in self._flink.values():
                backend.max_applications = limit

    def reset_flink(self) -> None:
        self.config_rules.reset()
        self.audit_manager.reset()
        with self._lock:
            for backend in self._flink.values():
                backend.reset()
            self.clock.reset()
        self.deliveries.clear()
        self.schedules.clear()
        self.iam_lag.set_lag(0)
        iam_principal.forget_sessions()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sandbox/") and self.admin is not None:
            status, payload = self.admin(
                environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""), body
            )
            return _respond(
                start_response,
                status,
                json.dumps(payload).encode(),
                [("Content-Type", "application/json")],
            )
        scope = parse_authorization(environ.get("HTTP_AUTHORIZATION"))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(FLINK_TARGET_PREFIX):
            return self._serve_flink(
                environ, start_response, body, scope, target[len(FLINK_TARGET_PREFIX) :]
            )
        modelled = self._serve_modelled(environ, start_response, body, scope, target)
        if modelled is not None:
            return modelled
        return self._pass_through(environ, start_response, body, scope, target)

    def _serve_modelled(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        body: bytes,
        scope: Scope | None,
        target: str,
    ) -> Iterable[bytes] | None:
        """AWS Config's evaluation calls, Audit Manager and GetResources of Flink apps, modelled
        here (moto lacks them); None for any other call."""
        region, account = (scope.region if scope else self.region), self.account_of(scope)
        method = environ["REQUEST_METHOD"]
        if scope is not None and scope.service == "auditmanager":
            service, mutating, content_type = "auditmanager", method != "GET", "application/json"
            path = environ.get("PATH_INFO", "")
            operation, (status, out) = self.audit_manager.handle(
                account, region, method, path, body
            )
        elif target == tagging.TARGET and (
            tagged := tagging.answer(
                json.loads(body or b"{}"), lambda: self.flink_backend(region, account)
            )
        ):
            service, operation, mutating = "tagging", "GetResources", False
            content_type = "application/x-amz-json-1.1"
            status, out = tagged[0], json.dumps(tagged[1]).encode()
        elif (
            scope is not None
            and scope.service == "securityhub"
            and (
                wire.rest_operation("securityhub", method, environ.get("PATH_INFO", ""))
                == "BatchUpdateFindings"
            )
        ):
            service, operation, mutating = "securityhub", "BatchUpdateFindings", True
            content_type = "application/json"
            findings = securityhub_backends[account][region].findings
            now = datetime.fromtimestamp(self.clock.now(), UTC)
            status, out = securityhub_updates.batch_update(findings, body, now)
        elif target.startswith(CONFIG_TARGET_PREFIX) and target.split(".")[-1] in CONFIG_MODELLED:
            operation = target.split(".")[-1]
            service, mutating = "config", operation == "PutEvaluations"
            content_type = "application/x-amz-json-1.1"
            status, out = self.config_rules.handle(account, region, operation, body)
        else:
            return None
        error = wire.error_of(out, {}) if status >= 400 else None
        request = json.loads(body) if body else {}
        self._record(environ, scope, service, operation, region, request, None, error, mutating)
        headers = [("Content-Type", content_type)]
        if error is not None:
            headers.append(("x-amzn-ErrorType", error[0]))
        return _respond(start_response, status, out, headers)

    def _serve_flink(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        body: bytes,
        scope: Scope | None,
        operation: str,
    ) -> Iterable[bytes]:
        region = scope.region if scope else self.region
        account = self.account_of(scope)
        request: dict[str, Any] = {}
        error: tuple[str, str] | None = None
        response: dict[str, Any] | None = None
        try:
            request = json.loads(body or b"{}")
            backend = self.flink_backend(region, account)
            authorize_flink(environ, body, operation, request, region, account, backend.tags_of)
            response = handle(backend, operation, request)
            status, out = 200, json.dumps(response).encode()
        except FlinkApiError as exc:
            error, status, out = (exc.code, exc.message), exc.status, exc.body()
        except (ValueError, KeyError, TypeError) as exc:
            failure = FlinkApiError("InvalidRequestException", f"Malformed request: {exc!r}")
            error, status, out = (failure.code, failure.message), 400, failure.body()
        # Like AWS: every answer carries a request id, the same as the CloudTrail record's.
        request_id = str(uuid.uuid4())
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)]
        if error is not None:
            headers.append(("x-amzn-ErrorType", error[0]))
        if error is None and operation not in READ_ONLY and request.get("ApplicationName"):
            self.config_rules.changed(account, region, str(request["ApplicationName"]))
        try:
            self._record(
                environ,
                scope,
                "kinesisanalytics",
                operation,
                region,
                request,
                response,
                error,
                mutating=operation not in READ_ONLY,
                request_id=request_id,
            )
        except Exception:  # the record must never break the API answer
            log.exception("sandbox_call_recording_failed")
        return _respond(start_response, status, out, headers)

    def _pass_through(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        body: bytes,
        scope: Scope | None,
        target: str,
    ) -> Iterable[bytes]:
        account = self.account_of(scope)
        query = environ.get("QUERY_STRING", "")
        lagging = scope is not None and scope.service == "iam"
        stale = self.iam_lag.stale(account, body, query) if lagging else None
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []
        if stale is not None:  # IAM's eventual consistency: the answer before the change
            captured.update(status=stale.status, headers=stale.headers)
            start_response(stale.status, stale.headers)
            self._after_pass_through(environ, scope, target, body, captured, stale.body)
            return [stale.body]

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            captured.update(status=status, headers=headers)
            return chunks.append

        sender: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if scope is not None and scope.service == "sqs":  # SenderId: the caller's principal id
            caller = user_identity(scope.access_key_id, scope.region, account)
            sender = moto_sqs.sent_by(str(caller.get("principalId", "")))
        elif dynamodb_atomic.is_item_write(target):  # checked and applied as one step
            sender = dynamodb_atomic.one_at_a_time()
        with sender:
            result = self.moto_app(environ, capture)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        out, headers, request_id = wire.fresh_request_id(b"".join(chunks), captured["headers"])
        captured.update(headers=headers, request_id=request_id)
        start_response(captured["status"], captured["headers"])
        if lagging:
            status, headers = str(captured["status"]), list(captured["headers"])
            self.iam_lag.observe(account, body, query, status, headers, out)
        try:
            self._after_pass_through(environ, scope, target, body, captured, out)
        except Exception:  # the record must never break the API answer
            log.exception("sandbox_call_recording_failed")
        return [out]

    def _after_pass_through(
        self,
        environ: dict[str, Any],
        scope: Scope | None,
        target: str,
        body: bytes,
        captured: dict[str, Any],
        out: bytes,
    ) -> None:
        service = scope.service if scope else "unknown"
        region = scope.region if scope else self.region
        # Only query-protocol bodies are form-encoded (not REST-JSON ones, e.g. Security Hub's).
        form = "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "") and not target
        params = wire.query_params(body if form else b"", environ.get("QUERY_STRING", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        operation = (
            target.rsplit(".", 1)[-1]
            if target
            else params.get("Action")
            or wire.rest_operation(
                service, method, environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
            )
        )
        named = " " not in operation  # else an unknown REST call: judged by its method
        mutating = is_mutating(operation) if named else method not in ("GET", "HEAD")
        code = int(str(captured["status"]).split()[0])
        error = None
        if code >= 400:
            error = wire.error_of(out, {k.lower(): v for k, v in captured["headers"]})
        response = wire.xml_response_elements(out) if code < 400 and not target else None
        if service == "sts" and operation == "AssumeRole" and response:
            iam_principal.remember_assume_role(params, response)
        self._record(
            environ,
            scope,
            service,
            operation,
            region,
            wire.nested_params(params),
            response,
            error,
            mutating,
            captured.get("request_id"),
        )

    def _record(
        self,
        environ: dict[str, Any],
        scope: Scope | None,
        service: str,
        operation: str,
        region: str,
        request: dict[str, Any] | None,
        response: dict[str, Any] | None,
        error: tuple[str, str] | None,
        mutating: bool,
        request_id: str | None = None,
    ) -> None:
        key = scope.access_key_id if scope else None
        account = self.account_of(scope)
        identity = user_identity(key, region, account)
        emitted = False
        if cloudtrail.is_emitted(service, operation):
            call = cloudtrail.ApiCall(
                service=service,
                operation=operation,
                region=region,
                access_key_id=key,
                source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
                user_agent=environ.get("HTTP_USER_AGENT", ""),
                request=request,
                response=response,
                error_code=error[0] if error else None,
                error_message=error[1] if error else None,
            )
            if request_id:
                call = dataclasses.replace(call, request_id=request_id)
            detail = cloudtrail.record(call, identity, account)
            event = cloudtrail.envelope(call, detail, account)
            try:
                delivered = self.deliveries.submit(event, account, event["region"])
                later = not self.deliveries.settings.immediate
                emitted = delivered > 0 or (later and bool(routes(event, account, event["region"])))
            except Exception:
                log.exception("sandbox_event_delivery_failed")
        self.calls.add(
            CallRecord(
                time=datetime.now(UTC).isoformat(),
                service=service,
                operation=operation,
                region=region,
                caller_arn=identity["arn"],
                access_key_id=key,
                mutating=mutating,
                error_code=error[0] if error else None,
                emitted=emitted,
                application=_application(service, request),
                request_id=request_id,
                account=account,
            )
        )


def _application(service: str, request: dict[str, Any] | None) -> str | None:
    """The application a Managed Flink request names (by name, or by ARN for tag calls)."""
    if service != "kinesisanalytics" or not request:
        return None
    name = request.get("ApplicationName")
    if isinstance(name, str):
        return name
    arn = request.get("ResourceARN")
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) else None


def _respond(
    start_response: Callable[..., Any], status: int, body: bytes, headers: list[tuple[str, str]]
) -> list[bytes]:
    reason = {
        200: "OK",
        400: "Bad Request",
        404: "Not Found",
        405: "Method Not Allowed",
        500: "Internal Server Error",
    }.get(status, "Error")
    start_response(f"{status} {reason}", [*headers, ("Content-Length", str(len(body)))])
    return [body]
