"""A local AWS account on 127.0.0.1: moto's server app behind SandboxMiddleware, on a threaded
werkzeug server, with the event queue, its DLQ and the EventBridge rules provisioned.

    sandbox = Sandbox(port=0).start()   # port 0: any free port
    ... boto3 clients with endpoint_url=sandbox.endpoint_url ...
    sandbox.stop()

moto keeps its state in process-wide globals, so run one Sandbox per process.
"""

from __future__ import annotations

import json
import os
import threading
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import parse_qs

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from sandbox import (
    control,
    dynamodb_cfn,
    ec2_routes,
    enforce_iam,
    iam_simulate,
    logs_kms,
    managed_policies,
    moto_cfn,
    moto_sqs,
    organizations,
    s3_actions,
)
from sandbox.calls import CallRecord
from sandbox.defaults import DEFAULT_REGION, DEFAULT_TRANSITION_SECONDS
from sandbox.delivery import DeliverySettings
from sandbox.eventbridge import PATTERN_DIR, Queues, provision
from sandbox.faults import FaultInjector, FaultLayer
from sandbox.json_errors import JsonErrors
from sandbox.middleware import SandboxMiddleware

# Loading moto's public AMI catalogue makes every EC2 backend (re)creation take seconds.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


class QuietRequestHandler(MotoRequestHandler):  # type: ignore[misc]
    """moto's request handler without werkzeug's per-request access log lines."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return

    def date_time_string(self, timestamp: float | None = None) -> str:
        # Every answer's Date header (RFC 9110 section 6.6.1) tells the sandbox clock, which
        # statuses and SnapshotCreationTimestamp follow, so a client can age what it reads.
        clock = getattr(self.server, "sandbox_clock", None)
        if timestamp is None and clock is not None:
            timestamp = clock()
        return str(super().date_time_string(timestamp))


class Sandbox:
    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        region: str = DEFAULT_REGION,
        transition_seconds: float = DEFAULT_TRANSITION_SECONDS,
        pattern_dir: Traversable = PATTERN_DIR,
        enforce_iam: bool = False,
        delivery: DeliverySettings | None = None,
        iam_read_lag_seconds: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID
        self.pattern_dir = pattern_dir
        self.middleware = SandboxMiddleware(
            JsonErrors(DomainDispatcherApplication(create_backend_app)),
            self.account_id,
            region,
            transition_seconds,
        )
        self.middleware.admin = self._admin
        self.faults = FaultInjector()  # /_sandbox/faults; requests it fails never reach moto
        self.app = FaultLayer(self.middleware, self.faults)
        self.enforce_iam = enforce_iam
        self.delivery = delivery or DeliverySettings()  # what reset() returns to
        self.iam_read_lag_seconds = iam_read_lag_seconds
        ec2_routes.install()
        moto_sqs.install()
        iam_simulate.install()
        logs_kms.install()
        s3_actions.install()
        moto_cfn.install()
        dynamodb_cfn.install()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._queues: Queues | None = None
        self._reset_lock = threading.Lock()
        # What `serve --demo` seeded (principals with keys, network, applications): part of
        # GET /_sandbox/info, so `sandbox env` can hand the keys to a shell; reset forgets it.
        self.seeded: dict[str, Any] = {}

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def queue_url(self) -> str:
        assert self._queues is not None, "start() first"
        return self._queues.queue_url

    @property
    def dlq_url(self) -> str:
        assert self._queues is not None, "start() first"
        return self._queues.dlq_url

    def start(self) -> Sandbox:
        self._server = make_server(
            self.host,
            self.port,
            self.app,
            threaded=True,
            request_handler=QuietRequestHandler,
        )
        self._server.sandbox_clock = self.middleware.clock.now  # type: ignore[attr-defined]
        self.port = self._server.server_port
        self.middleware.endpoint_url = self.endpoint_url  # AWS Config rule functions call back
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-http", daemon=True
        )
        self._thread.start()
        self.middleware.deliveries.start()
        self.middleware.schedules.start()
        self.reset()
        return self

    def stop(self) -> None:
        self.middleware.deliveries.stop()
        self.middleware.schedules.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
        if self.enforce_iam:  # moto's switch is process-wide
            enforce_iam.set_enforcement(False)

    def reset(self) -> None:
        """Forget everything (moto, Flink apps, call log), then provision queues and rules."""
        from moto.moto_api._internal.models import moto_api_backend

        with self._reset_lock:
            self.faults.install(())
            moto_api_backend.reset()
            managed_policies.install(self.account_id)
            enforce_iam.set_enforcement(self.enforce_iam)
            if self.enforce_iam:
                enforce_iam.ensure_admin(self.account_id)
            organizations.forget()
            organizations.ensure_management_admin()
            self.middleware.reset_flink()
            self._queues = provision(
                self.endpoint_url, self.region, self.account_id, self.pattern_dir
            )
            self.middleware.calls.clear()
            self.middleware.deliveries.configure(self.delivery)
            self.middleware.iam_lag.set_lag(self.iam_read_lag_seconds)
            self.seeded = {}

    def set_transition_seconds(self, seconds: float) -> None:
        self.middleware.set_transition_seconds(seconds)

    def set_enforce_iam(self, on: bool) -> None:
        """Turn moto's IAM enforcement (and ours for Flink) on or off; `reset()` keeps it."""
        with self._reset_lock:
            self.enforce_iam = on
            if on:
                enforce_iam.ensure_admin(self.account_id)
            enforce_iam.set_enforcement(on)

    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox's time forward (transitional statuses end sooner); the new time."""
        return self.middleware.clock.advance(seconds)

    def next_update(self, application: str, outcome: str, seconds: float) -> None:
        """The next change of `application` takes `seconds` and ends succeed|fail|rollback."""
        self.middleware.flink_backend(self.region).next_update(application, outcome, seconds)

    def hold_status(self, application: str, status: str, seconds: float) -> None:
        """A RUNNING app is AUTOSCALING or MAINTENANCE for `seconds`."""
        self.middleware.flink_backend(self.region).hold_status(application, status, seconds)

    def calls(self) -> tuple[CallRecord, ...]:
        return self.middleware.calls.records()

    def info(self) -> dict[str, Any]:
        admin = {"admin": enforce_iam.ensure_admin(self.account_id)} if self.enforce_iam else {}
        return {
            "endpoint_url": self.endpoint_url,
            "queue_url": self.queue_url,
            "dlq_url": self.dlq_url,
            "region": self.region,
            "account_id": self.account_id,
            "transition_seconds": self.middleware.transition_seconds,
            "enforce_iam": self.enforce_iam,
            "delivery": self.middleware.deliveries.settings.as_json(),
            "iam_read_lag_seconds": self.middleware.iam_lag.lag_seconds,
            "organization": organizations.ensure_management_admin(),
            **admin,
            **self.seeded,
        }

    def _admin(self, method: str, path: str, query: str, body: bytes) -> tuple[int, dict[str, Any]]:
        route = (method, path.rstrip("/"))
        if route == ("GET", "/_sandbox/calls"):
            wanted = {key: values[-1] for key, values in parse_qs(query).items()}
            return 200, {
                "calls": [record.as_json() for record in self.calls() if _selected(record, wanted)]
            }
        if route == ("POST", "/_sandbox/calls/clear"):
            self.middleware.calls.clear()
            return 200, {}
        if route == ("POST", "/_sandbox/reset"):
            self.reset()
            return 200, self.info()
        if route == ("GET", "/_sandbox/info"):
            return 200, self.info()
        if route == ("POST", "/_sandbox/config"):
            settings = _json_or_form(body)
            if "transition_seconds" in settings:
                self.set_transition_seconds(float(settings["transition_seconds"]))
            if "max_applications" in settings:  # the per-Region quota (benchmarks)
                self.middleware.set_max_applications(int(settings["max_applications"]))
            if "enforce_iam" in settings:
                self.set_enforce_iam(str(settings["enforce_iam"]).lower() == "true")
            try:
                control.configure_delivery(self.middleware, settings)
            except ValueError as exc:
                return 400, {"error": str(exc)}
            return 200, self.info()
        answer = control.handle(self.middleware, self.region, route, _json_or_form(body))
        if answer is not None:
            return answer
        return 404, {"error": f"no sandbox endpoint {method} {path}"}


def _selected(record: CallRecord, wanted: dict[str, str]) -> bool:
    """Filters of GET /_sandbox/calls: service, operation, mutating=true|false, caller_arn,
    account."""
    values = record.as_json()
    for key, expected in wanted.items():
        actual = values.get(key)
        if isinstance(actual, bool):
            actual = str(actual).lower()
        if key in values and actual != expected:
            return False
    return True


def _json_or_form(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {key: values[-1] for key, values in parse_qs(body.decode()).items()}
    return value if isinstance(value, dict) else {}
