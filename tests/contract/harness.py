"""Run rules against the sandbox over HTTP exactly as the daemon does: a real `Aws` boundary
(boto3 via AWS_ENDPOINT_URL), the real observe, plan and executor, and assertions on the
sandbox's own record of calls (tests.harness.CallLog), never on what our code says it did.
Starting the sandbox or the daemon as processes is tests/harness.py's job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from daemon.aws import Aws, AwsByRegion
from daemon.reconcile.inventory import Inventory, index_applications
from daemon.reconcile.observe import RoleIndex, describe, observe
from daemon.reconcile.reconciler import Reads, Reconciler
from daemon.reconcile.result import ReconcileResult
from daemon.state import AppRef, Cause, Mode, Observed
from remediations.base import AnyRule, RuleSettings
from sandbox.server import Sandbox
from sandbox.testing import client, execution_role
from tests.harness import CallLog

Rules = Sequence[tuple[AnyRule, RuleSettings, Mode]]
ROLE = "arn:aws:iam::{account}:role/flink-execution"


@dataclass
class Harness:
    sandbox: Sandbox
    aws: Aws

    @classmethod
    def start(cls, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Harness:
        # The daemon finds AWS through the standard chain and AWS_ENDPOINT_URL; so does this.
        monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=sandbox.region
        )
        return cls(sandbox, Aws(sandbox.region, session=session, max_backoff_seconds=0.2))

    def client(self, service: str) -> Any:
        return client(self.sandbox.endpoint_url, self.sandbox.region, service)

    def app(self, name: str) -> AppRef:
        return AppRef(self.sandbox.account_id, self.sandbox.region, name)

    def create_app(
        self,
        name: str,
        configuration: dict[str, Any] | None = None,
        runtime: str = "FLINK-1_20",
        tags: dict[str, str] | None = None,
        **extra: Any,
    ) -> AppRef:
        request: dict[str, Any] = {
            "ApplicationName": name,
            "RuntimeEnvironment": runtime,
            "ServiceExecutionRole": execution_role(self.client("iam")),
            "ApplicationConfiguration": configuration or {},
            **extra,
        }
        if tags:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self.client("kinesisanalyticsv2").create_application(**request)
        return self.app(name)

    def reconcile(self, app: AppRef, rules: Rules, dry_run: bool = False) -> ReconcileResult:
        reconciler = Reconciler(
            lambda _: self.aws,
            lambda _app, _tags: list(rules),
            dry_run,
            reads=Reads(role_index=self.role_index()),
        )
        return reconciler.reconcile(app, Cause(trigger="cli"))

    def observe(self, app: AppRef, rules: Rules) -> Observed:
        detail, tags = describe(self.aws, app)
        readers = [(r, s) for r, s, _ in rules]
        return observe(app, detail, tags, readers, self.aws, self.role_index())

    def role_index(self) -> RoleIndex:
        """Which apps use a role, from a complete inventory of the sandbox (as after a sweep)."""
        inventory = Inventory()
        index_applications(
            AwsByRegion(lambda _: self.aws),
            self.sandbox.account_id,
            [self.sandbox.region],
            inventory,
        )
        return inventory.role_index(lambda: True)

    def drifts(self, app: AppRef, rules: Rules) -> list[Any]:
        observed = self.observe(app, rules)
        return [
            d
            for rule, settings, _ in rules
            if rule.applies(observed.detail)
            for d in rule.check(settings, observed)
        ]

    def recorded_calls(self, **filters: str) -> list[dict[str, Any]]:
        """The sandbox's own record of calls, over HTTP (filters: service, operation,
        mutating=true|false, caller_arn)."""
        return CallLog(self.sandbox.endpoint_url).calls(**filters)

    def mutating_calls(self) -> list[str]:
        return CallLog(self.sandbox.endpoint_url).mutating()

    def clear_calls(self) -> None:
        CallLog(self.sandbox.endpoint_url).clear()


def assert_fixed_and_idempotent(h: Harness, app: AppRef, rules: Rules) -> ReconcileResult:
    """One reconcile fixes every fixable drift; re-observing finds only unfixable drift; a
    second reconcile makes no mutating call. Returns the first reconcile's result."""
    h.clear_calls()
    first = h.reconcile(app, rules)
    assert first.result == "fixed", (first.result, first.error)
    assert h.mutating_calls(), "the fix made no call the sandbox saw"
    left = h.drifts(app, rules)
    assert all(not d.fixable for d in left), left
    h.clear_calls()
    second = h.reconcile(app, rules)
    assert second.result in ("in_sync", "drift"), (second.result, second.error)
    assert h.mutating_calls() == []
    return first
