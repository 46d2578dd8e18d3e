"""The in-memory, thread-safe store of Flink applications of one account and Region.

It owns the semantics the daemon must survive: version ids and conditional tokens, the
self-ending statuses (STARTING, UPDATING, STOPPING, DELETING) and the errors AWS gives for them.
Statuses end lazily: every read first settles transitions whose time has passed.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from sandbox.flink.errors import FlinkApiError, concurrent, in_use, invalid, not_found
from sandbox.flink.model import MUTABLE_STATUSES, FlinkApp, Transition

MAX_APPLICATIONS = 100
MAX_TAGS = 50


class Lookups(Protocol):
    """What the backend needs to know about the rest of the account (moto's EC2 and Logs)."""

    def vpc_of_subnet(self, subnet_id: str) -> str | None: ...

    def security_group_exists(self, group_id: str) -> bool: ...

    def log_stream_exists(self, group: str, stream: str) -> bool: ...


def new_token() -> str:
    return secrets.token_hex(16)


class FlinkBackend:
    def __init__(
        self,
        account_id: str,
        region: str,
        lookups: Lookups,
        transition_seconds: float = 0.3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.lookups = lookups
        self.transition_seconds = transition_seconds
        self._clock = clock
        self._lock = threading.RLock()
        self._apps: dict[str, FlinkApp] = {}

    def arn(self, name: str) -> str:
        return f"arn:aws:kinesisanalytics:{self.region}:{self.account_id}:application/{name}"

    def reset(self) -> None:
        with self._lock:
            self._apps.clear()

    def _settle(self) -> None:
        now = self._clock()
        for name, app in list(self._apps.items()):
            current = app.settled(now)
            if current is None:
                del self._apps[name]
            else:
                self._apps[name] = current

    def _transition(self, then: str) -> Transition:
        return Transition(until=self._clock() + self.transition_seconds, then=then)

    def get(self, name: str) -> FlinkApp:
        with self._lock:
            self._settle()
            app = self._apps.get(name)
            if app is None:
                raise not_found(name)
            return app

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
            if len(self._apps) >= MAX_APPLICATIONS:
                raise FlinkApiError(
                    "LimitExceededException", f"At most {MAX_APPLICATIONS} applications per Region."
                )
            self._apps[app.name] = app
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
    ) -> FlinkApp:
        """Apply a configuration change under optimistic concurrency; new version and token."""
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
            running = app.status == "RUNNING"
            changed = replace(
                changed,
                version=app.version + 1,
                token=new_token(),
                updated=time.time(),
                updated_from=app.version,
                status="UPDATING" if running else app.status,
                transition=self._transition("RUNNING") if running else None,
            )
            self._apps[name] = changed
            return changed

    def _move(self, name: str, allowed: frozenset[str], status: str, then: str) -> FlinkApp:
        with self._lock:
            app = self.get(name)
            if app.status not in allowed:
                raise in_use(name, app.status)
            moved = replace(app, status=status, transition=self._transition(then))
            self._apps[name] = moved
            return moved

    def start(self, name: str) -> FlinkApp:
        return self._move(name, frozenset({"READY"}), "STARTING", "RUNNING")

    def stop(self, name: str, force: bool) -> FlinkApp:
        if force:
            allowed = frozenset({"RUNNING", "STARTING", "UPDATING", "AUTOSCALING"})
            return self._move(name, allowed, "FORCE_STOPPING", "READY")
        return self._move(name, frozenset({"RUNNING"}), "STOPPING", "READY")

    def delete(self, name: str, created: float) -> FlinkApp:
        with self._lock:
            app = self.get(name)
            if abs(app.created - created) >= 1.0:
                raise invalid("CreateTimestamp does not match the application's creation time.")
            return self._move(name, MUTABLE_STATUSES, "DELETING", "")

    def set_tags(self, arn: str, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
        """Tags do not change the application version (as in AWS)."""
        with self._lock:
            app = self.by_arn(arn)
            tags = change(dict(app.tags))
            if len(tags) > MAX_TAGS:
                raise FlinkApiError(
                    "TooManyTagsException", f"At most {MAX_TAGS} tags per application."
                )
            self._apps[app.name] = replace(app, tags=tuple(tags.items()))
