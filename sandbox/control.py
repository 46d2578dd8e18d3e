"""Control endpoints that make the sandbox as unkind as a real account (see sandbox/README.md):

POST /_sandbox/clock               {"advance": S}
POST /_sandbox/flink/next-update   {"application": N, "outcome": O, "seconds": S[, "region": R]}
POST /_sandbox/flink/legacy-sql    {"request": CreateApplication request of a SQL-1_0 app}
POST /_sandbox/flink/status        {"application": N, "status": ST, "seconds": S[, "region": R]
                                    [, "parallelism": P (AUTOSCALING's end; default doubled)]}
POST /_sandbox/config/evaluate {"rules": [CONFIG_RULE_NAME...][, "application": N]
                                    [, "region": R][, "account": A]}: run AWS Config rules now
                                    (periodic, or for N's configuration change) and wait
GET  /_sandbox/deliveries          the CloudTrail events not delivered yet
GET  /_sandbox/schedules           how often each EventBridge Scheduler schedule has fired
POST /_sandbox/organization/accounts {"account_id": A}: A joins the organization
POST /_sandbox/eks/pod-identity    {"cluster_arn", "namespace", "service_account", "role_arn"
                                    [, "pod_name"][, "session_tags": false]}: EKS Pod Identity
                                    assumes the role for such a pod (sandbox/pod_identity.py)
"""

from __future__ import annotations

from typing import Any

from sandbox import organizations, pod_identity
from sandbox.delivery import settings_from
from sandbox.flink import create
from sandbox.flink.errors import FlinkApiError
from sandbox.middleware import SandboxMiddleware

Answer = tuple[int, dict[str, Any]]


def _number(settings: dict[str, Any], key: str) -> float:
    try:
        return float(settings[key])
    except KeyError:
        raise ValueError(f"{key} is required") from None
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number of seconds, got {settings[key]!r}") from None


def handle(
    middleware: SandboxMiddleware, region: str, route: tuple[str, str], settings: dict[str, Any]
) -> Answer | None:
    """The answer for one of the routes above, or None when `route` is not one of them."""
    try:
        if route == ("GET", "/_sandbox/deliveries"):
            return 200, {"pending": middleware.deliveries.pending()}
        if route == ("POST", "/_sandbox/organization/accounts"):
            return 200, organizations.enroll(str(settings.get("account_id")))
        if route == ("POST", "/_sandbox/eks/pod-identity"):
            return pod_identity.assume_for_pod(settings, region)
        if route == ("POST", "/_sandbox/config/evaluate"):
            return _evaluate(middleware, region, settings)
        if route == ("POST", "/_sandbox/clock"):
            now = middleware.clock.advance(_number(settings, "advance"))
            fired = middleware.schedules.pump()  # schedules due by the new time run now
            return 200, {"now": now, "offset": middleware.clock.offset, "schedules_fired": fired}
        if route == ("GET", "/_sandbox/schedules"):
            return 200, {"fired": middleware.schedules.fired()}
        backend = middleware.flink_backend(str(settings.get("region") or region))
        if route == ("POST", "/_sandbox/flink/next-update"):
            backend.next_update(
                str(settings.get("application")),
                str(settings.get("outcome", "succeed")),
                _number(settings, "seconds"),
            )
            return 200, {}
        if route == ("POST", "/_sandbox/flink/legacy-sql"):
            # A SQL-1_0 app made before AWS stopped accepting them (CreateApplication refuses).
            app = create.new_application(backend, dict(settings.get("request") or {}), True)
            return 200, {"application": app.name, "status": app.status}
        if route == ("POST", "/_sandbox/flink/status"):
            scaled = settings.get("parallelism")
            app = backend.hold_status(
                str(settings.get("application")),
                str(settings.get("status")),
                _number(settings, "seconds"),
                None if scaled is None else int(scaled),
            )
            return 200, {"application": app.name, "status": app.status}
    except (ValueError, KeyError, TypeError) as exc:
        return 400, {"error": str(exc)}
    except FlinkApiError as exc:
        status = 404 if exc.code == "ResourceNotFoundException" else 400
        return status, {"error": exc.message, "code": exc.code}
    return None


def _evaluate(middleware: SandboxMiddleware, region: str, settings: dict[str, Any]) -> Answer:
    app, names = settings.get("application"), settings.get("rules")
    if not isinstance(names, list) or not names:
        return 400, {"error": "rules must be a non-empty list of Config rule names"}
    try:
        result = middleware.config_rules.evaluate(
            str(settings.get("account") or middleware.account_id),
            str(settings.get("region") or region),
            [str(n) for n in names],
            None if app is None else str(app),
        )
    except KeyError as exc:
        return 404, {"error": str(exc.args[0])}
    except RuntimeError as exc:  # the function failed, as a Lambda error would say
        return 502, {"error": str(exc)}
    return 200, {"result": result}


def configure_delivery(middleware: SandboxMiddleware, settings: dict[str, Any]) -> None:
    """`delivery` ({delay_seconds, jitter_seconds, duplicate_probability,
    duplicate_delay_seconds, seed}) and `iam_read_lag_seconds` of POST /_sandbox/config, until
    the next reset; ValueError names a bad value."""
    if "delivery" in settings:
        changes = settings["delivery"]
        if not isinstance(changes, dict):
            raise ValueError("delivery must be an object")
        current = middleware.deliveries.settings
        middleware.deliveries.configure(settings_from(current, changes))
    if "iam_read_lag_seconds" in settings:
        middleware.iam_lag.set_lag(_number(settings, "iam_read_lag_seconds"))
