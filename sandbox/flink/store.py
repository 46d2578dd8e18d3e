"""The in-memory, thread-safe store of Flink applications of one account and Region (the
lifecycle commands on top of it are in backend.py).

It owns the semantics the daemon must survive: version ids and conditional tokens, the
self-ending statuses (STARTING, UPDATING, ROLLING_BACK, STOPPING, DELETING, injected AUTOSCALING
and MAINTENANCE), the operations they belong to, and the errors AWS gives for them.
Statuses end lazily: every read first settles transitions whose time (sandbox clock) has passed.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from sandbox.flink import lifecycle
from sandbox.flink.errors import FlinkApiError, concurrent, in_use, invalid, not_found
from sandbox.flink.history import Operation, OperationLog
from sandbox.flink.lifecycle import NextUpdate
from sandbox.flink.model import MUTABLE_STATUSES, FlinkApp, Transition
from sandbox.flink.trust import service_may_assume

MAX_APPLICATIONS = 100
MAX_TAGS = 50


class Lookups(Protocol):
    """What the backend needs to know about the rest of the account (moto's EC2 and Logs)."""

    def vpc_of_subnet(self, subnet_id: str) -> str | None: ...

    def security_group_exists(self, group_id: str) -> bool: ...

    def log_stream_exists(self, group: str, stream: str) -> bool: ...

    def kms_key(self, key_id: str) -> tuple[str, str] | None:
        """(key state, key policy JSON) of a KMS key id/ARN/alias in this Region, or None."""

    def role_trust_policy(self, role_arn: str) -> str | None:
        """The trust (assume-role) policy JSON of an IAM role, or None if it does not exist."""


def may_assume(lookups: Lookups, app: FlinkApp) -> bool:
    """May the service assume `app`'s execution role to run it now (trust.py)?"""
    trust = lookups.role_trust_policy(app.role)
    return trust is not None and service_may_assume(trust, app.arn, app.arn.split(":")[4])


def new_token() -> str:
    return secrets.token_hex(16)


class AppStore:
    def __init__(
        self,
        account_id: str,
        region: str,
        lookups: Lookups,
        transition_seconds: float = 0.3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.lookups = lookups
        self.transition_seconds = transition_seconds
        # The per-Region quota; benchmarks raise it (POST /_sandbox/config max_applications).
        self.max_applications = MAX_APPLICATIONS
        self._clock = clock
        self._lock = threading.RLock()
        self._apps: dict[str, FlinkApp] = {}
        self._versions: dict[str, dict[int, FlinkApp]] = {}
        self._next: dict[str, NextUpdate] = {}
        self.operations = OperationLog()
        self.snapshots: dict[str, dict[str, Any]] = {}  # app -> name -> snapshots.Snapshot

    def now(self) -> float:
        return self._clock()

    def arn(self, name: str) -> str:
        return f"arn:aws:kinesisanalytics:{self.region}:{self.account_id}:application/{name}"

    def reset(self) -> None:
        with self._lock:
            self._apps.clear()
            self._versions.clear()
            self._next.clear()
            self.operations.clear()
            self.snapshots.clear()

    def _settle(self) -> None:
        now = self._clock()
        for name, app in list(self._apps.items()):
            current: FlinkApp | None = app
            versions = self._versions.setdefault(name, {})
            while current is not None and current.transition and now >= current.transition.until:
                current = lifecycle.finish(
                    current, versions, self.operations, lambda a: may_assume(self.lookups, a)
                )
                if current is not None:
                    versions[current.version] = current  # what ListApplicationVersions shows
            if current is None:
                del self._apps[name]
                self._versions.pop(name, None)
                self._next.pop(name, None)
                self.snapshots.pop(name, None)
                self.operations.clear(name)
            else:
                self._apps[name] = current

    def _transition(self, then: str, operation_id: str | None = None) -> Transition:
        return Transition(self._clock() + self.transition_seconds, then, operation_id)

    def get(self, name: str) -> FlinkApp:
        with self._lock:
            self._settle()
            app = self._apps.get(name)
            if app is None:
                raise not_found(name)
            return app

    def operations_of(self, name: str) -> list[Operation]:
        """The app's operations, oldest first (ResourceNotFoundException for unknown apps)."""
        with self._lock:
            self.get(name)
            return self.operations.of(name)

    def versions_of(self, name: str) -> list[FlinkApp]:
        """Every version of the app, newest first; the current one as it is now."""
        with self._lock:
            app = self.get(name)
            versions = {**self._versions.get(name, {}), app.version: app}
            return [versions[v] for v in sorted(versions, reverse=True)]

    def replace_app(self, name: str, change: Callable[[FlinkApp], FlinkApp]) -> FlinkApp:
        """A change that is not a new version (maintenance window)."""
        with self._lock:
            changed = change(self.get(name))
            self._apps[name] = changed
            return changed

    def by_arn(self, arn: str) -> FlinkApp:
        with self._lock:
            self._settle()
            for app in self._apps.values():
                if app.arn == arn:
                    return app
            raise FlinkApiError("ResourceNotFoundException", f"Resource {arn} not found.")

    def tags_of(self, arn: str) -> dict[str, str]:
        """The application's tags ({} when there is none): for aws:ResourceTag conditions."""
        try:
            return dict(self.by_arn(arn).tags)
        except FlinkApiError:
            return {}

    def add(self, app: FlinkApp) -> FlinkApp:
        with self._lock:
            self._settle()
            if app.name in self._apps:
                raise FlinkApiError(
                    "ResourceInUseException", f"Application {app.name} already exists."
                )
            if len(self._apps) >= self.max_applications:
                raise FlinkApiError(
                    "LimitExceededException",
                    f"At most {self.max_applications} applications per Region.",
                )
            self._apps[app.name] = app
            self._versions[app.name] = {app.version: app}
            return app

    def list_page(self, limit: int, after: str | None) -> tuple[list[FlinkApp], str | None]:
        """Apps in name order after `after`; the token is the last name when more remain."""
        with self._lock:
            self._settle()
            names = sorted(n for n in self._apps if after is None or n > after)
            page = [self._apps[n] for n in names[:limit]]
            return page, (page[-1].name if len(names) > limit else None)

    def mutate(
        self,
        name: str,
        version: int | None,
        token: str | None,
        change: Callable[[FlinkApp], FlinkApp],
        operation: str,
    ) -> tuple[FlinkApp, str]:
        """Apply a configuration change under optimistic concurrency: a new version and token,
        and the operation (its id) that follows the change to its end."""
        with self._lock:
            app = self.get(name)
            if version is None and token is None:
                raise invalid(
                    "Either CurrentApplicationVersionId or ConditionalToken must be provided."
                )
            if app.status not in MUTABLE_STATUSES:
                raise in_use(name, app.status)
            if version is not None and version != app.version:
                raise concurrent(
                    f"Current application version is {app.version}; the request gave {version}."
                )
            if token is not None and token != app.token:
                raise concurrent(
                    "The ConditionalToken does not match the application's current token."
                )
            changed = change(app)
            now = self._clock()
            started = self.operations.begin(name, operation, now, app.version, app.version + 1)
            injected = self._next.pop(name, None)
            changed = replace(
                changed,
                version=app.version + 1,
                token=new_token(),
                updated=now,
                updated_from=app.version,
                rolled_back_from=None,
                rolled_back_to=None,
                status=app.status,
                transition=None,
            )
            if injected is not None or app.status == "RUNNING":
                plan = injected or NextUpdate("succeed", self.transition_seconds)
                changed = replace(
                    changed,
                    status="UPDATING",
                    transition=Transition(
                        now + plan.seconds,
                        app.status,
                        started.operation_id,
                        plan.outcome,
                        rollback_seconds=plan.seconds,
                        rollback_enabled=app.rollback_enabled,
                    ),
                )
            else:  # a READY app takes the change at once
                self.operations.finish(name, started.operation_id, now, "SUCCESSFUL")
            self._apps[name] = changed
            self._versions.setdefault(name, {})[changed.version] = changed
            return changed, started.operation_id

    def set_tags(self, arn: str, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
        """Tags do not change the application version (as in AWS). Tag/UntagResource list
        ResourceInUseException and the docs do not say in which statuses: refused outside
        READY and RUNNING, like a configuration change (the less forgiving choice)."""
        with self._lock:
            app = self.by_arn(arn)
            if app.status not in MUTABLE_STATUSES:
                raise in_use(app.name, app.status)
            tags = change(dict(app.tags))
            if len(tags) > MAX_TAGS:
                raise FlinkApiError(
                    "TooManyTagsException", f"At most {MAX_TAGS} tags per application."
                )
            self._apps[app.name] = replace(app, tags=tuple(tags.items()))
